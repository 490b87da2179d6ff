#!/usr/bin/env python3
"""Compares ws-echo with peer echo servers on this machine, interleaved, and prints one table.

The two "minimal" servers are WebSocket echoes without a framing library (bench/peers/src/
minimal.rs): about what the runtime alone costs, next to which the cost of framing shows.
(They are not a strict floor: a row's figures move by up to 20% between runs.)

Each server runs pinned to core 0 and the load generator (examples/loadgen.rs) to core 1;
every echo is verified; each cell is the median of --rounds interleaved runs; msgs/s are also
given as a ratio to tokio-tungstenite from the same run, the only kind of figure that holds on
a shared, noisy machine. The server's CPU time per message (from /proc) is the steadiest one.

Last comes a verdict on each of issue 7's targets: ws-echo's figure over the best peer's
(tokio-tungstenite, tuned, fastwebsockets, async-tungstenite/smol; best by the row's median),
taken round by round (the two were measured seconds apart, so they share the machine's mood),
as the median of those ratios with their range; then "met" or "NOT met".

Usage: bash bench/compare.sh [--rounds 3] [--duration 2s] [--only pingpong,idle,...]
                              [--servers tuned,fastwebsockets,ws-echo]
Builds what it needs (release): ws-echo's examples, the peers in bench/peers, the Go seed.
"""
import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "target/release/examples")
PEER = os.path.join(ROOT, "bench/peers/target/release/ws-echo-bench-peers")

ROWS = [  # name, loadgen arguments
    ("pingpong", ["--mode", "pingpong", "--conns", "100", "--payload", "20"]),
    ("pipelined 20 B", ["--mode", "pipelined", "--conns", "10", "--payload", "20", "--window", "16"]),
    ("pipelined 1 KiB", ["--mode", "pipelined", "--conns", "10", "--payload", "1024", "--window", "16"]),
    ("pipelined 16 KiB", ["--mode", "pipelined", "--conns", "10", "--payload", "16384", "--window", "16"]),
    ("1 MiB", ["--mode", "pipelined", "--conns", "1", "--payload", "1000000", "--window", "4"]),
    ("handshakes", ["--mode", "handshakes", "--conns", "10"]),
    ("idle", ["--mode", "idle", "--conns", "1000"]),
]


def servers(go_dir):
    serve = lambda rt: lambda a: [os.path.join(EX, "server"), "--runtime", rt, "--addr", a,
                                  "--max-message-size", "2000000"]
    peer = lambda kind: lambda a: [PEER, "--kind", kind, "--addr", a]
    return [
        ("tokio-tungstenite", peer("tokio-tungstenite")),
        ("tuned (8 KiB)", peer("tuned")),
        ("fastwebsockets", peer("fastwebsockets")),
        ("async-tungstenite/smol", peer("async-tungstenite-smol")),
        ("async-tungstenite/smol (8 KiB)", peer("async-tungstenite-smol-8k")),
        ("Go seed", lambda a: [os.path.join(go_dir, "seed-server"), "-a", a, "-q"]),
        # No framing library, only the runtime (bench/peers/src/minimal.rs).
        ("minimal/smol", peer("minimal-smol")),
        ("minimal/tokio", peer("minimal-tokio")),
        ("ws-echo smol", serve("smol")),
        ("ws-echo async-std", serve("async-std")),
        ("ws-echo tokio", serve("tokio")),
    ]


def wait_listening(addr):
    """Waits (about 4 s at most) until something accepts connections at `addr` (HOST:PORT)."""
    host, port = addr.rsplit(":", 1)
    for _ in range(200):
        try:
            socket.create_connection((host, int(port)), 0.1).close()
            return
        except OSError:
            time.sleep(0.02)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(command, args, duration):
    addr = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, RUST_LOG="warn")
    server = subprocess.Popen(["taskset", "-c", "0"] + command(addr), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(addr)
        out = subprocess.run(["taskset", "-c", "1", os.path.join(EX, "loadgen"), "--url", f"ws://{addr}/ws",
                              "--duration", duration, "--server-pid", str(server.pid), "--json"] + args,
                             capture_output=True, text=True, timeout=120)
        return json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr.strip()}
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()


def build():
    """The servers and the load generator, in release mode."""
    subprocess.run(["cargo", "build", "-q", "--release", "--features", "smol,async-std,tokio", "--examples"],
                   cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "-q", "--release"], cwd=os.path.join(ROOT, "bench/peers"), check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", default="2s")
    parser.add_argument("--only", default="", help="rows to run, by first word: pingpong,pipelined,1,...")
    parser.add_argument("--servers", default="", help="servers to run besides tokio-tungstenite (the "
                        "baseline of the ratios), by name or part of it: tuned,fastwebsockets,ws-echo")
    opts = parser.parse_args()
    wanted = [w for w in opts.servers.split(",") if w]
    chosen = lambda name: not wanted or name == "tokio-tungstenite" or any(w in name for w in wanted)
    rows = [r for r in ROWS if not opts.only or r[0].split()[0] in opts.only.split(",")]
    build()
    go_dir = tempfile.mkdtemp(prefix="ws-echo-go-")
    subprocess.run(["sh", os.path.join(ROOT, "../shared/anchors/go-seed/build.sh"), go_dir], check=True)
    table = {}
    for name, args in rows:
        chosen_servers = [(s, c) for s, c in servers(go_dir) if chosen(s)]
        results = {s: [] for s, _ in chosen_servers}
        for index in range(opts.rounds):  # interleaved: every server once per round
            # In an order of its own each round: a server run always right after the same one
            # would carry whatever that one left behind (sockets closing, caches) every time.
            order = list(chosen_servers)
            random.Random(index).shuffle(order)
            for server, command in order:
                results[server].append(measure(command, args, opts.duration))
        table[name] = results
        report_row(name, results)
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, rounds {opts.rounds} x "
          f"{opts.duration}, ws-echo {commit()}")
    report_targets(table)


# The peers ws-echo is measured against (issue 7): the Go seed and the minimal servers are not.
PEERS = ["tokio-tungstenite", "tuned (8 KiB)", "fastwebsockets", "async-tungstenite/smol"]

# Row -> the targets: (what, key, best is lowest?, ws-echo/peer bound, is it an upper bound?).
TARGETS = {
    "pingpong": [("CPU/msg", "server_cpu_us_per_msg", True, 1.0, True),
                 ("msgs/s", "msgs_per_s", False, 1.0, False),
                 ("p99", "p99_us", True, 1.0, True)],
    "pipelined 20 B": [("msgs/s", "msgs_per_s", False, 1.1, False)],
    "pipelined 1 KiB": [("msgs/s", "msgs_per_s", False, 1.1, False)],
    "pipelined 16 KiB": [("msgs/s", "msgs_per_s", False, 1.1, False)],
    "1 MiB": [("msgs/s", "msgs_per_s", False, 1.0, False)],
    "handshakes": [("CPU/handshake", "server_cpu_us_per_msg", True, 1.0, True)],
}
IDLE_TARGET_KIB = 5.0


def paired_ratios(runs, base_runs, key):
    """Per round, ws-echo's figure over the peer's from the same round (seconds apart)."""
    return [r[key] / b[key] for r, b in zip(runs, base_runs)
            if r.get(key) is not None and b.get(key) and "error" not in r and "error" not in b]


def report_targets(table):
    """Each of issue 7's targets against the best peer of its row (best by median), as the median
    of per-round ratios with their range: on a shared machine a row moves by 20-40% between
    runs, but two servers measured in the same round move together."""
    run = [p for p in PEERS if any(p in results for results in table.values())]
    print(f"\ntargets: ws-echo / best peer among those run ({', '.join(run)}), per-round ratios, "
          "median [min-max]")
    for name, results in table.items():
        servers = [s for s in results if s.startswith("ws-echo")]
        peers = [p for p in PEERS if p in results]
        if name == "idle":
            for server in servers:
                rss = median(results[server], "rss_kib_per_conn")
                verdict = "met" if rss is not None and rss <= IDLE_TARGET_KIB else "NOT met"
                print(f"  {name:<17} {server:<18} {('%.1f KiB' % rss) if rss is not None else 'failed':>9} "
                      f"(<= {IDLE_TARGET_KIB} KiB) {verdict}")
            continue
        for what, key, lowest, bound, upper in TARGETS.get(name, []):
            figures = [(median(results[p], key), p) for p in peers]
            figures = [(v, p) for v, p in figures if v is not None]
            if not figures:
                continue
            best = (min if lowest else max)(figures)[1]
            for server in servers:
                ratios = paired_ratios(results[server], results[best], key)
                if not ratios:
                    print(f"  {name:<17} {server:<18} {what}: no figures")
                    continue
                mid = statistics.median(ratios)
                verdict = "met" if (mid <= bound if upper else mid >= bound) else "NOT met"
                print(f"  {name:<17} {server:<18} {what:<13} {mid:6.3f}x [{min(ratios):.2f}-{max(ratios):.2f}] "
                      f"{'<=' if upper else '>='} {bound:.2f}x {best}: {verdict}")


def commit():
    """The commit measured (with "+changes" when the tree differs from it), to tie a table to
    the code that made it."""
    git = lambda *args: subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return "(not a git checkout)"
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + (" +changes" if dirty else "")


def median(runs, key):
    values = [r[key] for r in runs if key in r and r[key] is not None]
    return statistics.median(values) if values else None


def report_row(name, results):
    base = median(results["tokio-tungstenite"], "msgs_per_s")
    print(f"\n{name}")
    print(f"  {'server':<24} {'msgs/s':>9} {'ratio':>6} {'p99 us':>8} {'server CPU/msg':>15} {'errors':>6}"
          if name != "idle" else f"  {'server':<24} {'RSS per idle connection':>24}")
    for server, runs in results.items():
        failures = [r["error"] for r in runs if "error" in r]
        if name == "idle":
            rss = median(runs, "rss_kib_per_conn")
            print(f"  {server:<24} {('%.1f KiB' % rss) if rss is not None else 'failed':>24}")
            continue
        rate = median(runs, "msgs_per_s")
        if rate is None:
            print(f"  {server:<24} failed: {failures[0][:80] if failures else '?'}")
            continue
        cpu = median(runs, "server_cpu_us_per_msg")
        errors = sum(r.get("errors", 0) for r in runs)
        ratio = f"{rate / base:.2f}x" if base else "-"
        print(f"  {server:<24} {rate:>9.0f} {ratio:>6} {median(runs, 'p99_us'):>8.0f} "
              f"{(('%.2f us' % cpu) if cpu is not None else '-'):>15} {errors:>6}")


if __name__ == "__main__":
    sys.exit(main())

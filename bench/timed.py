#!/usr/bin/env python3
"""The seed's own workload at scale: C connections, each sending one 20-byte text every 2 s
(their start times spread evenly over the interval, so C/2 messages a second in all), on
schedule whether or not earlier echoes are back, every echo checked (examples/loadgen.rs,
`--mode timed`). Each connection talks from the moment it is up, as the seed's clients do;
the window opens once all are, and counts the sends due in it. (Until 2026-12-04 the
connections waited in silence for all the others: when connecting took 36-40 s, as it does
here in some rounds for any server, ws-echo's heartbeat pinged every connection silent for
20 s as the window opened, 12,655 pings in its first second, and that was the 50-150 ms
stall seen in ws-echo's cells only.) For ws-echo and its peers, one server at a time, pinned to core 0, the load
generator to core 1 (from several loopback source addresses).

Per cell: the server's CPU per message and RSS per connection (from /proc, from when every
connection was up), round trip from when each send was due (p50, p99, p99.9, max), the p99 of
a typical second (the median over the window's seconds of each second's p99), the latest the
load generator's own sends left (late max), and errors (a send never echoed). Each figure is
the median over --rounds; CPU per message and both p99s are also given as ratios to the
baseline peer of the same runtime, with an 8 KiB read buffer (async-tungstenite on smol for
ws-echo on smol and async-std, tuned tokio-tungstenite for ws-echo on tokio), round by round,
with the lowest and highest: the figures that hold on a shared, noisy machine.

At 19,900 connections the window's p99 is set by stalls that hit every server alike: in
every cell some of the generator's sends leave 10-20 ms late (late max), and about two seconds
in three have a p99 of 3-15 ms against 0.15 ms in the others, in a pattern that repeats every
3 s, with the bare library as with ws-echo (`loadgen --series` prints each second). Which seconds a stall lands in moves the window's p99
several-fold between rounds; a typical second's p99 is what the server itself holds.

One process per side: this machine allows 20,000 open files per process, so a cell holds at
most about 19,900 connections (ws-echo is started with --max-connections to match).

Past one process a side, `--instances 3 --generators 3 --tick 1ms` runs ws-echo alone (the
peers have no --reuse-port): three instances sharing the port, three generators with their
sends interleaved and due on a 1 ms grid (each sleep and wake-up costs the generator some
20 us on this machine: exactly spread sends at 25,000 a second would need both cores for the
generators alone), one window for all, the servers' CPU read here.

Usage: bash bench/timed.sh [--conns 10000,19900] [--duration 20s] [--rounds 3]
                           [--servers ws-echo,async-tungstenite,tuned,...] [--series-dir DIR]
       bash bench/timed.sh --conns 50000 --instances 3 --generators 3 --tick 1ms
                           --servers "ws-echo smol,ws-echo tokio"
"""
import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the servers, the build, the free port)

# Server -> the peer its CPU per message is judged against (same runtime, same framing).
BASELINE = {"ws-echo smol": "async-tungstenite/smol (8 KiB)",
            "ws-echo async-std": "async-tungstenite/smol (8 KiB)",
            "ws-echo smol (heartbeat off)": "async-tungstenite/smol (8 KiB)",
            "ws-echo tokio (heartbeat off)": "tuned (8 KiB)",
            "ws-echo tokio": "tuned (8 KiB)",
            "ws-echo smol (keepalive off)": "async-tungstenite/smol (8 KiB)",
            "ws-echo tokio (keepalive off)": "tuned (8 KiB)"}
SOURCES = "127.0.0.2,127.0.0.3,127.0.0.4"


def variants():
    """ws-echo with its heartbeat off, or with TCP keepalive off, run only when asked for by
    name ("ws-echo smol (heartbeat off)", "ws-echo tokio (keepalive off)"): what each costs,
    against the same server with it."""
    serve = lambda rt, flag: lambda a: [os.path.join(compare.EX, "server"), "--runtime", rt, "--addr",
                                        a, "--max-message-size", "2000000", flag, "off"]
    return [(f"ws-echo {rt} ({name} off)", serve(rt, flag)) for rt in ("smol", "async-std", "tokio")
            for name, flag in (("heartbeat", "--ping-interval"), ("keepalive", "--tcp-keepalive"))]


def run_cell(command, conns, duration, series=None):
    """One server's cell; `series`: a file for the generator's per-second series."""
    addr = f"127.0.0.1:{compare.free_port()}"
    env = dict(os.environ, RUST_LOG="warn")
    cmd = command(addr)
    if cmd[0].endswith("/server"):
        cmd += ["--max-connections", str(conns + 100)]
    server = subprocess.Popen(["prlimit", "--nofile=20000:20000", "taskset", "-c", "0"] + cmd,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        compare.wait_listening(addr)
        out = subprocess.run(["taskset", "-c", "1", os.path.join(compare.EX, "loadgen"), "--url",
                              f"ws://{addr}/ws", "--mode", "timed", "--conns", str(conns),
                              "--interval", "2s", "--payload", "20", "--duration", duration,
                              "--sources", SOURCES, "--server-pid", str(server.pid), "--json"]
                             + (["--series"] if series else []),
                             capture_output=True, text=True, timeout=600)
        if series:
            with open(series, "w") as f:
                f.write(out.stderr)
        if out.returncode != 0:
            return {"error": out.stderr.strip()[-200:]}
        return json.loads(out.stdout)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()


def cpu_seconds(pid):
    """User + system CPU seconds of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def run_spread(runtime, conns, duration, instances, generators, tick):
    """One cell past one process a side: `instances` ws-echo servers sharing one port
    (--reuse-port, the kernel spreading connections over them) on core 0, `generators` load
    generators on core 1, each with its share of the connections from two source addresses of
    its own, their sends interleaved, one measured window for all (--start-at). The servers'
    CPU and RSS are read here, over that window, for all instances together."""
    port = compare.free_port()
    env = dict(os.environ, RUST_LOG="warn")
    servers = [subprocess.Popen(
        ["prlimit", "--nofile=20000:20000", "taskset", "-c", "0", os.path.join(compare.EX, "server"),
         "--runtime", runtime, "--addr", f"127.0.0.1:{port}", "--reuse-port", "--threads", "1",
         "--max-connections", "19950", "--max-message-size", "2000000"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(instances)]
    generators_run = []
    try:
        compare.wait_listening(f"127.0.0.1:{port}")
        time.sleep(0.3)
        rss_before = sum(rss_kib(s.pid) for s in servers)
        secs = lambda d: float(d.rstrip("s"))
        # Time for every generator to connect its share (1,500-4,000 a second each here, the
        # fewer in a first round: with 8 + share/2,500 s, first rounds missed the start).
        start = time.time() + 10 + conns / generators / 1500
        share = [conns // generators + (1 if k < conns % generators else 0) for k in range(generators)]
        for k in range(generators):
            sources = f"127.0.{k + 1}.2,127.0.{k + 1}.3"
            generators_run.append(subprocess.Popen(
                ["prlimit", "--nofile=20000:20000", "taskset", "-c", "1", os.path.join(compare.EX, "loadgen"),
                 "--url", f"ws://127.0.0.1:{port}/ws", "--mode", "timed", "--conns", str(share[k]),
                 "--interval", "2s", "--payload", "20", "--duration", duration, "--sources", sources,
                 "--part", f"{k + 1}/{generators}", "--start-at", str(int(start * 1000)),
                 "--tick", tick, "--json"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(max(0, start - time.time()))
        cpu0 = sum(cpu_seconds(s.pid) for s in servers)
        rss = sum(rss_kib(s.pid) for s in servers)
        # Connections each instance holds as the window opens (its descriptors, less the few
        # of its own): at the window's end the generators are already closing theirs.
        per_instance = [len(os.listdir(f"/proc/{s.pid}/fd")) for s in servers]
        time.sleep(secs(duration))
        cpu1 = sum(cpu_seconds(s.pid) for s in servers)
        outs = [g.communicate(timeout=600) for g in generators_run]
        results = []
        for g, (out, err) in zip(generators_run, outs):
            if g.returncode != 0:
                return {"error": err.strip()[-200:]}
            results.append(json.loads(out))
        messages = sum(r["messages"] for r in results)
        # Each window's messages, as scheduled: C/2 a second.
        scheduled = conns / 2 * secs(duration)
        worst = lambda key, q: max(r[key][q] for r in results)
        return {"messages": messages, "errors": sum(r["errors"] for r in results),
                "server_cpu_us_per_msg": (cpu1 - cpu0) / scheduled * 1e6,
                "server_rss_kib_per_conn": (rss - rss_before) / conns,
                "rtt_ms": {q: worst("rtt_ms", q) for q in ("p50", "p99", "p999", "max")},
                "late_ms": {"p99": worst("late_ms", "p99")},
                "loadgen_cpu_us_per_msg": statistics.mean(r["loadgen_cpu_us_per_msg"] for r in results),
                "spread": per_instance}
    finally:
        for g in generators_run:
            if g.poll() is None:
                g.kill()
        for s in servers:
            s.send_signal(signal.SIGKILL)
            s.wait()


def ratios(runs, base, get):
    """A figure over the baseline's in the same round, round by round: the median ratio and the
    lowest and highest, as printable strings (empty without a baseline)."""
    found = [get(a) / get(b) for a, b in zip(runs, base)
             if "error" not in a and "error" not in b and get(a) is not None and get(b)]
    if not found:
        return "", ""
    return f"{statistics.median(found):.2f}x", f"{min(found):.2f}-{max(found):.2f}"


def median(runs, get):
    values = [get(r) for r in runs if "error" not in r and get(r) is not None]
    return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conns", default="10000")
    parser.add_argument("--duration", default="20s")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default="ws-echo,async-tungstenite,tuned,fastwebsockets,"
                        "minimal/tokio,Go seed")
    parser.add_argument("--instances", type=int, default=1,
                        help="ws-echo servers sharing the port (--reuse-port); past 1, only ws-echo")
    parser.add_argument("--generators", type=int, default=1, help="load generator processes")
    parser.add_argument("--tick", default="0s", help="the generators' send grid, like 1ms")
    parser.add_argument("--series-dir", help="keep each cell's per-second series here "
                        "(loadgen --series: ROUND-SERVER.txt, with the window's start time)")
    opts = parser.parse_args()
    wanted = [w for w in opts.servers.split(",") if w]
    compare.build()
    if opts.instances > 1 or opts.generators > 1:
        return spread(opts, wanted)
    go_dir = tempfile.mkdtemp(prefix="ws-echo-go-")
    subprocess.run(["sh", os.path.join(compare.ROOT, "../shared/anchors/go-seed/build.sh"), go_dir],
                   check=True, stdout=subprocess.DEVNULL)
    chosen = [(s, c) for s, c in compare.servers(go_dir) + variants()
              if any(w in s for w in wanted) and (" off)" not in s or s in wanted)
              or s in BASELINE.values()]
    for conns in [int(c) for c in opts.conns.split(",")]:
        results = {s: [] for s, _ in chosen}
        for index in range(opts.rounds):
            order = list(chosen)
            random.Random(index).shuffle(order)
            for server, command in order:
                series = opts.series_dir and os.path.join(
                    opts.series_dir, f"{conns}-{index + 1}-{server.replace(' ', '_').replace('/', '_')}.txt")
                results[server].append(run_cell(command, conns, opts.duration, series))
        print(f"\n{conns} connections, one 20-byte text every 2 s each ({conns // 2}/s), "
              f"{opts.duration} x {opts.rounds} rounds: medians")
        print(f"  {'server':<31} {'CPU/msg':>9} {'ratio':>6} {'range':>11} {'p50':>8} {'p99':>8} {'ratio':>6} "
              f"{'range':>11} {'p99 1 s':>8} {'ratio':>6} {'p99.9':>8} {'max':>8} {'late max':>9} "
              f"{'RSS/conn':>9} {'errors':>7}")
        for server, runs in results.items():
            failed = [r["error"] for r in runs if "error" in r]
            if len(failed) == len(runs):
                print(f"  {server:<31} failed: {failed[0]}")
                continue
            cpu = median(runs, lambda r: r.get("server_cpu_us_per_msg"))
            base = results.get(BASELINE.get(server, ""), [])
            cpu_x, cpu_range = ratios(runs, base, lambda r: r.get("server_cpu_us_per_msg"))
            p99_x, p99_range = ratios(runs, base, lambda r: r["rtt_ms"]["p99"])
            typical_x, _ = ratios(runs, base, lambda r: r["rtt_ms"].get("p99_typical_second"))
            ms = lambda key: median(runs, lambda r: r["rtt_ms"].get(key))
            errors = sum(r.get("errors", 0) for r in runs if "error" not in r)
            rss = median(runs, lambda r: r.get("server_rss_kib_per_conn"))
            print(f"  {server:<31} {cpu:>7.1f}us {cpu_x:>6} {cpu_range:>11} {ms('p50'):>6.2f}ms {ms('p99'):>6.2f}ms "
                  f"{p99_x:>6} {p99_range:>11} {ms('p99_typical_second'):>6.2f}ms {typical_x:>6} "
                  f"{ms('p999'):>6.2f}ms {ms('max'):>6.1f}ms "
                  f"{median(runs, lambda r: r['late_ms']['max']):>7.2f}ms {rss:>6.1f}KiB {errors:>7}"
                  + (f"  ({len(failed)} failed)" if failed else ""))
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, ws-echo {compare.commit()}")


def spread(opts, wanted):
    """Cells past one process a side: ws-echo only (the peers have no --reuse-port)."""
    runtimes = [w.split()[-1] for w in wanted if w.startswith("ws-echo ")] or ["smol"]
    for conns in [int(c) for c in opts.conns.split(",")]:
        print(f"\n{conns} connections over {opts.instances} ws-echo instances (--reuse-port) and "
              f"{opts.generators} generators, sends on a {opts.tick} grid, one 20-byte text every 2 s each "
              f"({conns // 2}/s), {opts.duration} x {opts.rounds} rounds: medians")
        print(f"  {'server':<24} {'CPU/msg':>9} {'p50':>8} {'p99':>8} {'p99.9':>8} {'max':>8} "
              f"{'late p99':>9} {'RSS/conn':>9} {'errors':>7}  gen CPU/msg  descriptors per instance")
        for runtime in runtimes:
            runs = [run_spread(runtime, conns, opts.duration, opts.instances, opts.generators, opts.tick)
                    for _ in range(opts.rounds)]
            failed = [r["error"] for r in runs if "error" in r]
            if len(failed) == len(runs):
                print(f"  ws-echo {runtime:<16} failed: {failed[0]}")
                continue
            ms = lambda key: median(runs, lambda r: r["rtt_ms"][key])
            ok = [r for r in runs if "error" not in r]
            print(f"  {'ws-echo ' + runtime:<24} {median(runs, lambda r: r['server_cpu_us_per_msg']):>7.1f}us "
                  f"{ms('p50'):>6.2f}ms {ms('p99'):>6.2f}ms {ms('p999'):>6.2f}ms {ms('max'):>6.1f}ms "
                  f"{median(runs, lambda r: r['late_ms']['p99']):>7.2f}ms "
                  f"{median(runs, lambda r: r['server_rss_kib_per_conn']):>6.1f}KiB "
                  f"{sum(r['errors'] for r in ok):>7}  {median(runs, lambda r: r['loadgen_cpu_us_per_msg']):>9.1f}us"
                  f"  {ok[-1]['spread']}" + (f"  ({len(failed)} failed: {failed[0]})" if failed else ""))
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, ws-echo {compare.commit()}")


if __name__ == "__main__":
    main()

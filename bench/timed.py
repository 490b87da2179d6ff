#!/usr/bin/env python3
"""The seed's own workload at scale: C connections, each sending one 20-byte text every 2 s
(their start times spread evenly over the interval, so C/2 messages a second in all), on
schedule whether or not earlier echoes are back, every echo checked (examples/loadgen.rs,
`--mode timed`). For ws-echo and its peers, one server at a time, pinned to core 0, the load
generator to core 1 (from several loopback source addresses).

Per cell: the server's CPU per message and RSS per connection (from /proc, from when every
connection was up), round trip from when each send was due (p50, p99, p99.9, max), how late
the load generator's own sends left (p99), and errors (a send never echoed). Each figure is the
median over --rounds; CPU per message is also given as a ratio to the baseline peer of the
same runtime (async-tungstenite on smol for ws-echo on smol and async-std, tuned
tokio-tungstenite for ws-echo on tokio), round by round: the figure that holds on a shared,
noisy machine. p99 varies several-fold between rounds here: read it over five rounds or more.

One process per side: this machine allows 20,000 open files per process, so a cell holds at
most about 19,900 connections (ws-echo is started with --max-connections to match).

Usage: bash bench/timed.sh [--conns 10000,19900] [--duration 20s] [--rounds 3]
                           [--servers ws-echo,async-tungstenite,tuned,...]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the servers, the build, the free port)

# Server -> the peer its CPU per message is judged against (same runtime, same framing).
BASELINE = {"ws-echo smol": "async-tungstenite/smol", "ws-echo async-std": "async-tungstenite/smol",
            "ws-echo tokio": "tuned (8 KiB)"}
SOURCES = "127.0.0.2,127.0.0.3,127.0.0.4"


def run_cell(command, conns, duration):
    addr = f"127.0.0.1:{compare.free_port()}"
    env = dict(os.environ, RUST_LOG="warn")
    cmd = command(addr)
    if cmd[0].endswith("/server"):
        cmd += ["--max-connections", str(conns + 100)]
    server = subprocess.Popen(["prlimit", "--nofile=20000:20000", "taskset", "-c", "0"] + cmd,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        host, port = addr.split(":")
        for _ in range(200):
            try:
                socket.create_connection((host, int(port)), 0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        out = subprocess.run(["taskset", "-c", "1", os.path.join(compare.EX, "loadgen"), "--url",
                              f"ws://{addr}/ws", "--mode", "timed", "--conns", str(conns),
                              "--interval", "2s", "--payload", "20", "--duration", duration,
                              "--sources", SOURCES, "--server-pid", str(server.pid), "--json"],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            return {"error": out.stderr.strip()[-200:]}
        return json.loads(out.stdout)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()


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
    opts = parser.parse_args()
    wanted = [w for w in opts.servers.split(",") if w]
    compare.build()
    go_dir = tempfile.mkdtemp(prefix="ws-echo-go-")
    subprocess.run(["sh", os.path.join(compare.ROOT, "../shared/anchors/go-seed/build.sh"), go_dir],
                   check=True, stdout=subprocess.DEVNULL)
    chosen = [(s, c) for s, c in compare.servers(go_dir)
              if any(w in s for w in wanted) or s in BASELINE.values()]
    for conns in [int(c) for c in opts.conns.split(",")]:
        results = {s: [] for s, _ in chosen}
        for index in range(opts.rounds):
            order = list(chosen)
            random.Random(index).shuffle(order)
            for server, command in order:
                results[server].append(run_cell(command, conns, opts.duration))
        print(f"\n{conns} connections, one 20-byte text every 2 s each ({conns // 2}/s), "
              f"{opts.duration} x {opts.rounds} rounds: medians")
        print(f"  {'server':<24} {'CPU/msg':>9} {'ratio':>6} {'p50':>8} {'p99':>8} {'p99.9':>8} "
              f"{'max':>8} {'late p99':>9} {'RSS/conn':>9} {'errors':>7}")
        for server, runs in results.items():
            failed = [r["error"] for r in runs if "error" in r]
            if len(failed) == len(runs):
                print(f"  {server:<24} failed: {failed[0]}")
                continue
            cpu = median(runs, lambda r: r.get("server_cpu_us_per_msg"))
            base = results.get(BASELINE.get(server, ""), [])
            ratios = [a["server_cpu_us_per_msg"] / b["server_cpu_us_per_msg"] for a, b in zip(runs, base)
                      if "error" not in a and "error" not in b and b.get("server_cpu_us_per_msg")]
            ratio = f"{statistics.median(ratios):.2f}x" if ratios else ""
            ms = lambda key: median(runs, lambda r: r["rtt_ms"][key])
            errors = sum(r.get("errors", 0) for r in runs if "error" not in r)
            rss = median(runs, lambda r: r.get("server_rss_kib_per_conn"))
            print(f"  {server:<24} {cpu:>7.1f}us {ratio:>6} {ms('p50'):>6.2f}ms {ms('p99'):>6.2f}ms "
                  f"{ms('p999'):>6.2f}ms {ms('max'):>6.1f}ms "
                  f"{median(runs, lambda r: r['late_ms']['p99']):>7.2f}ms {rss:>6.1f}KiB {errors:>7}"
                  + (f"  ({len(failed)} failed)" if failed else ""))
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, ws-echo {compare.commit()}")


if __name__ == "__main__":
    main()

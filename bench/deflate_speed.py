#!/usr/bin/env python3
"""Server CPU per compressed 16 KiB JSON text: ws-echo's server example (release, smol, one
thread) against Node's ws with permessage-deflate on (its defaults), in interleaved rounds.

One Node ws client (interop/node/deflate_load.js) offers permessage-deflate and sends COUNT
messages of the same 16 KiB JSON text, each once the echo of the one before is back and
checked; the server's CPU time (user + system, from /proc) over the run, divided by COUNT, is
its cost per message. Reports the median of the rounds with its spread, and the ratio.

Usage: python3 bench/deflate_speed.py [--count 2000] [--rounds 5]
Needs node and interop/node's ws (npm ci in interop/node).
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NODE = os.path.join(ROOT, "interop/node")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import free_port  # noqa: E402
from timed import cpu_seconds  # noqa: E402


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not listen")


def one_round(name, count):
    port = free_port()
    if name == "ws-echo":
        cmd = [os.path.join(ROOT, "target/release/examples/server"), "--addr", f"127.0.0.1:{port}",
               "--threads", "1"]
    else:
        cmd = ["node", os.path.join(NODE, "server.js"), "127.0.0.1", str(port), "deflate"]
    server = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="warn"))
    try:
        wait_port(port)
        before = cpu_seconds(server.pid)
        load = subprocess.run(["taskset", "-c", "1", "node", os.path.join(NODE, "deflate_load.js"),
                               f"ws://127.0.0.1:{port}/ws", str(count)],
                              capture_output=True, text=True, timeout=600)
        spent = cpu_seconds(server.pid) - before
        if load.returncode != 0 or f"done {count}" not in load.stdout:
            raise RuntimeError(f"{name}: {load.stdout.strip()} {load.stderr.strip()}")
        agreed = load.stdout.splitlines()[0]
        if "permessage-deflate" not in agreed:
            raise RuntimeError(f"{name}: not agreed: {agreed}")
        return spent / count * 1e6, agreed
    finally:
        server.kill()
        server.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()
    subprocess.run(["cargo", "build", "-q", "--release", "--features", "smol", "--example", "server"],
                   cwd=ROOT, check=True)
    names = ["ws-echo", "node ws"]
    figures = {name: [] for name in names}
    agreed = {}
    for _ in range(opts.rounds):
        for name in names:  # interleaved
            us, agreed[name] = one_round(name, opts.count)
            figures[name].append(us)
    print(f"server CPU per compressed 16 KiB JSON text, {opts.count} messages a round, "
          f"median of {opts.rounds} rounds [min-max]")
    for name in names:
        f = figures[name]
        print(f"  {name:<8} {statistics.median(f):7.1f} us  [{min(f):.1f}-{max(f):.1f}]  {agreed[name]}")
    ratios = [a / b for a, b in zip(figures["ws-echo"], figures["node ws"])]
    print(f"  ws-echo / node ws: {statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]")


if __name__ == "__main__":
    sys.exit(main())

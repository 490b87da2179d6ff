#!/usr/bin/env python3
"""Server RSS per connection with permessage-deflate, against the same server without it.

Starts the server example (release, smol), opens N connections with Python websockets (its
default settings offer permessage-deflate), has each send one 1 KiB JSON text and read its echo
(or send nothing), holds them all open, and reads the server's RSS before and after: the
difference over N is what one connection costs. Rows: deflate agreed with one message and with
none, and the server with --no-deflate, the same two.

Usage: python3 bench/deflate_memory.py [--conns 2000] [--rounds 3]
Needs Python's websockets (scripts/test-tools.sh installs it).
"""
import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time

import websockets
from websockets.asyncio.client import connect

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SERVER = os.path.join(ROOT, "target/release/examples/server")
MESSAGE = json.dumps({"id": 7, "items": [{"name": f"item {i}", "price": i * 1.5} for i in range(24)]})[:1024]


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import free_port  # noqa: E402
from timed import rss_kib  # noqa: E402


async def hold(url, n, send, compression):
    conns = []
    for i in range(n):
        ws = await connect(url, compression=compression, max_size=None, ping_interval=None)
        conns.append(ws)
        if send:
            await ws.send(MESSAGE)
            assert await ws.recv() == MESSAGE
    agreed = sum(bool(ws.protocol.extensions) for ws in conns)
    return conns, agreed


async def one_round(n, send, server_deflate):
    port = free_port()
    args = [SERVER, "--addr", f"127.0.0.1:{port}", "--max-connections", str(n + 100), "--threads", "1"]
    if not server_deflate:
        args.append("--no-deflate")
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, RUST_LOG="warn"))
    try:
        url = f"ws://127.0.0.1:{port}/ws"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        # Warm-up: the executor's spares (buffers, an inflater and a compressor) exist from here.
        warm, _ = await hold(url, 20, True, "deflate")
        for ws in warm:
            await ws.close()
        time.sleep(0.3)
        before = rss_kib(server.pid)
        conns, agreed = await hold(url, n, send, "deflate")
        time.sleep(0.5)
        after = rss_kib(server.pid)
        for ws in conns:
            await ws.close()
        return (after - before) / n, agreed
    finally:
        server.kill()
        server.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conns", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    subprocess.run(["cargo", "build", "-q", "--release", "--features", "smol", "--example", "server"],
                   cwd=ROOT, check=True)
    rows = [("deflate agreed, one 1 KiB message", True, True),
            ("deflate agreed, no message", False, True),
            ("--no-deflate, one 1 KiB message", True, False),
            ("--no-deflate, no message", False, False)]
    figures = {name: [] for name, _, _ in rows}
    agreed = {}
    for _ in range(opts.rounds):
        for name, send, server_deflate in rows:  # interleaved
            per_conn, n_agreed = asyncio.run(one_round(opts.conns, send, server_deflate))
            figures[name].append(per_conn)
            agreed[name] = n_agreed
    print(f"server RSS per connection, {opts.conns} Python websockets {websockets.__version__} clients, "
          f"median of {opts.rounds} rounds [min-max]")
    for name, _, _ in rows:
        f = figures[name]
        print(f"  {name:<36} {statistics.median(f):6.1f} KiB  [{min(f):.1f}-{max(f):.1f}]"
              f"  ({agreed[name]} of {opts.conns} agreed deflate)")


if __name__ == "__main__":
    sys.exit(main())

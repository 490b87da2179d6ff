#!/usr/bin/env python3
"""Instructions per echoed message and per handshake, counted by callgrind, for ws-echo and the
peers of bench/compare.py.

compare.py times the servers, and on a shared machine its rounds swing by 20-50%, so a
difference of 10% takes many runs to show. An instruction count does not swing: the same
server under the same load executes the same instructions, busy machine or not. Each server
runs under `valgrind --tool=callgrind` (about 50 times slower, so rates mean nothing here)
with one connection, so that every server sees the same pattern however slow it runs (one
message or one handshake per wake-up; in the pipelined rows, the whole window of 16 messages
at every read), and is counted over a measured stretch after a warm-up.

What a count leaves out: the kernel's work (a system call counts as one instruction;
compare.py's CPU times include it) and memory and cache effects. Valgrind also counts each
repetition of `rep stos`/`rep movs` as an instruction, so zero-filling and copying
(tungstenite zero-fills its read buffer before each read) weigh more here than they cost: the
table shows them apart and compares the other instructions.

Usage: bash bench/instructions.sh [--only pingpong,pipelined,handshakes] [--servers tuned,ws-echo]
       [--duration 2s]
Needs valgrind (apt-get install valgrind).
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
import compare  # noqa: E402 (after the line above)

ROWS = [  # name, loadgen arguments, what one unit is
    ("pingpong 20 B", ["--mode", "pingpong", "--conns", "1", "--payload", "20"], "message"),
    ("pingpong 16 KiB", ["--mode", "pingpong", "--conns", "1", "--payload", "16384"], "message"),
    ("pingpong 1 MiB", ["--mode", "pingpong", "--conns", "1", "--payload", "1048576"], "message"),
    # 16 in flight: under valgrind each server finds the whole window waiting at every read.
    ("pipelined 20 B", ["--mode", "pipelined", "--conns", "1", "--payload", "20", "--window", "16"],
     "message"),
    ("pipelined 1 KiB", ["--mode", "pipelined", "--conns", "1", "--payload", "1024", "--window", "16"],
     "message"),
    ("handshakes", ["--mode", "handshakes", "--conns", "1"], "handshake"),
]

# The Go seed's runtime does not run well under valgrind, and is no peer of the goals.
SKIP = ["Go seed"]


def loadgen(addr, args, duration):
    out = subprocess.run(["taskset", "-c", "1", os.path.join(compare.EX, "loadgen"), "--url", f"ws://{addr}/ws",
                          "--duration", duration, "--json"] + args,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip() or "loadgen failed")
    return json.loads(out.stdout)


def wait_listening(addr, server):
    host, port = addr.split(":")
    for _ in range(1000):
        if server.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            socket.create_connection((host, int(port)), 0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not listen")


def count(command, args, duration, work):
    """Instructions per unit of `args`' load on the server `command` starts, or an error."""
    addr = f"127.0.0.1:{compare.free_port()}"
    out = os.path.join(work, "callgrind.out")
    for old in glob.glob(out + "*"):
        os.remove(old)
    env = dict(os.environ, RUST_LOG="warn")
    # Pinned as in compare.py, the server to one core and the load generator to the other: a
    # runtime's threads then take turns on one core, as they do when they are timed.
    server = subprocess.Popen(["taskset", "-c", "0", "valgrind", "--tool=callgrind",
                               f"--callgrind-out-file={out}"]
                              + command(addr), env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_listening(addr, server)
        loadgen(addr, args, "1s")  # warm-up: the runtime's threads, buffers and caches
        control = lambda flag: subprocess.run(["callgrind_control", flag, str(server.pid)],
                                              capture_output=True, check=True)
        control("-z")
        result = loadgen(addr, args, duration)
        control("-d")
        dumps = glob.glob(out + ".*")
        if len(dumps) != 1:
            raise RuntimeError(f"expected one callgrind dump, found {len(dumps)}")
        total, copies = read_dump(dumps[0])
        if result.get("errors"):
            raise RuntimeError(f"{result['errors']} errors")
        units = max(1, result["messages"])
        return total / units, copies / units
    except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as e:
        return str(e)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()


def read_dump(path):
    """(all instructions, those in memset/memcpy/memmove) of a callgrind dump: the second as the
    exclusive cost of those functions, the cost lines right under a `fn=` that do not follow a
    `calls=` (those are a call's inclusive cost)."""
    names, current, total, copies, after_call = {}, "", 0, 0, False
    with open(path) as dump:
        for line in dump:
            # Names are compressed: "(id) name" the first time, in a fn= or a cfn= line.
            named = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.strip())
            if named and named.group(2):
                names[named.group(1)] = named.group(2)
            if line.startswith("fn="):
                current = names.get(named.group(1), "") if named else line[3:].strip()
            elif line.startswith("calls="):
                after_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_call:
                    after_call = False
                    continue
                cost = int(line.split()[-1])
                total += cost
                if re.search(r"mem(set|cpy|move)", current):
                    copies += cost
    return total, copies


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", default="2s")
    parser.add_argument("--only", default="", help="rows to run, by first word: pingpong,pipelined,handshakes")
    parser.add_argument("--servers", default="", help="servers to run, by name or part of it")
    opts = parser.parse_args()
    if not shutil.which("valgrind"):
        print("instructions: valgrind is needed (apt-get install valgrind)", file=sys.stderr)
        return 1
    wanted = [w for w in opts.servers.split(",") if w]
    chosen = lambda name: name not in SKIP and (not wanted or any(w in name for w in wanted))
    rows = [r for r in ROWS if not opts.only or r[0].split()[0] in opts.only.split(",")]
    compare.build()
    work = tempfile.mkdtemp(prefix="ws-echo-callgrind-")
    # No Go directory: the Go seed is skipped (SKIP), and only its command needs one.
    servers = [(s, c) for s, c in compare.servers(None) if chosen(s)]
    table = {}
    for name, args, unit in rows:
        table[name] = {server: count(command, args, opts.duration, work) for server, command in servers}
        report_row(name, unit, table[name], payload(args))
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}, callgrind, 1 connection, {opts.duration} measured "
          f"after a 1 s warm-up, ws-echo {compare.commit()}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def payload(args):
    """The message size a row's load generator sends (0 for handshakes)."""
    return int(args[args.index("--payload") + 1]) if "--payload" in args else 0


def report_row(name, unit, results, size):
    """All instructions, those in memset/memcpy (counted a byte or so each), the others, and the
    others' ratio to the best peer's (the peer with the fewest others); from 16 KiB up, also
    all instructions per byte of the message."""
    others = {s: v[0] - v[1] for s, v in results.items() if isinstance(v, tuple)}
    peers = {s: v for s, v in others.items() if s in compare.PEERS}
    best = min(peers, key=peers.get) if peers else None
    print(f"\n{name}: instructions per {unit}"
          + (f" (ratio: others to the best peer's, {best})" if best else ""))
    per_byte = size >= 16384
    print(f"  {'server':<24} {'all':>10} {'memset/memcpy':>14} {'others':>10}  ratio"
          + ("  all per byte" if per_byte else ""))
    for server, value in results.items():
        if not isinstance(value, tuple):
            print(f"  {server:<24} error: {value}")
            continue
        ratio = f"{others[server] / peers[best]:.2f}x" if best else ""
        print(f"  {server:<24} {value[0]:>10,.0f} {value[1]:>14,.0f} {others[server]:>10,.0f}  {ratio:>5}"
              + (f"  {value[0] / size:>12.2f}" if per_byte else ""))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What Kubernetes does when it stops a pod, run against the `ws-echo` command configured as
deploy/kubernetes/ws-echo.yaml configures it (the container's environment, the probes' paths
and periods, the grace period, all read from the manifest), each step checked:

1. clients connected and echoing; the readiness path answers 200, the liveness path 200;
2. SIGTERM;
3. the readiness path answers 503 within one readiness period;
4. the liveness path answers 200 at every poll until the listener closes;
5. every open connection still echoes after the signal (through the drain delay);
6. every client gets Close 1001;
7. the process exits 0 before the grace period ends.

Usage: kubernetes-drain.py WS_ECHO [CLIENTS]   (WS_ECHO: the command's binary)
"""
import asyncio
import os
import signal
import socket
import sys
import time

import websockets
import yaml

MANIFEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../deploy/kubernetes/ws-echo.yaml")
POLL = 0.2


def deployment():
    """The container's environment, the probes and the grace period, from the manifest."""
    with open(MANIFEST) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    spec = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    ready, live = container["readinessProbe"], container["livenessProbe"]
    return (env, ready["httpGet"]["path"], ready["periodSeconds"], live["httpGet"]["path"],
            spec["terminationGracePeriodSeconds"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def status_of(port, path):
    """The HTTP status a plain GET of `path` gets, or None when nothing answers."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n".encode())
        line = await asyncio.wait_for(reader.readline(), 1)
        writer.close()
        return int(line.split()[1])
    except (OSError, asyncio.TimeoutError, IndexError, ValueError):
        return None


async def client(url, log):
    """Sends a message every 100 ms and awaits its echo, until the server closes: logs each
    echo's send time, then the close code."""
    async with websockets.connect(url) as ws:
        n = 0
        try:
            while True:
                n += 1
                sent = time.monotonic()
                await ws.send(f"message {n}")
                if await ws.recv() != f"message {n}":
                    log["wrong"] += 1
                log["echoed"].append(sent)
                await asyncio.sleep(0.1)
        except websockets.ConnectionClosed as e:
            log["code"] = e.rcvd.code if e.rcvd else None


async def main():
    binary, clients = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20
    env, ready_path, ready_period, live_path, grace = deployment()
    port = free_port()
    # The manifest's settings as the environment gives them; the address is the manifest's
    # form (every interface) on a port of this run's.
    proc = await asyncio.create_subprocess_exec(
        binary, "--addr", f":{port}", env=dict(os.environ, **env),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    for _ in range(100):
        if await status_of(port, ready_path) is not None:
            break
        await asyncio.sleep(0.05)
    logs = [{"echoed": [], "code": None, "wrong": 0} for _ in range(clients)]
    tasks = [asyncio.create_task(client(f"ws://127.0.0.1:{port}/ws", log)) for log in logs]
    while min(len(log["echoed"]) for log in logs) < 3:
        await asyncio.sleep(0.05)
    before = (await status_of(port, ready_path), await status_of(port, live_path))

    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    polls = []  # (seconds after the signal, readiness status, liveness status)
    while proc.returncode is None and time.monotonic() - signalled < grace + 5:
        at = time.monotonic() - signalled
        polls.append((at, await status_of(port, ready_path), await status_of(port, live_path)))
        try:
            await asyncio.wait_for(proc.wait(), POLL)
        except asyncio.TimeoutError:
            pass
    exited = time.monotonic() - signalled
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    await asyncio.wait(tasks, timeout=5)

    first_503 = next((at for at, ready, _ in polls if ready == 503), None)
    answered = [live for _, _, live in polls if live is not None]
    after = [sum(1 for sent in log["echoed"] if sent > signalled + 0.5) for log in logs]
    codes = sorted({log["code"] for log in logs}, key=str)
    checks = [
        (f"before SIGTERM: readiness and liveness answer 200 {before}", before == (200, 200)),
        (f"readiness answers 503 within one period ({ready_period} s): at "
         f"{first_503 if first_503 is None else round(first_503, 2)} s",
         first_503 is not None and first_503 <= ready_period),
        (f"liveness answers 200 at every poll until the listener closes ({len(answered)} "
         f"answered: {sorted(set(answered))})", len(answered) >= 5 and set(answered) == {200}),
        (f"every connection echoes after the signal (fewest echoes after it: {min(after)})",
         min(after) >= 3 and all(log["wrong"] == 0 for log in logs)),
        (f"every client gets Close 1001 (codes: {codes})", codes == [1001]),
        (f"exit 0 before the grace period ({grace} s): {proc.returncode} after {exited:.1f} s",
         proc.returncode == 0 and exited < grace),
    ]
    for name, ok in checks:
        print(f"{'ok' if ok else 'FAILED'}: {name}")
    failed = sum(1 for _, ok in checks if not ok)
    print(f"kubernetes drain: {len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

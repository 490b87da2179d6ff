"""Python's `websockets` as a client of an echo server: a short text, 1 MiB of binary, 64 KiB
of multi-byte text, every byte checked, then a close with 1000.

Usage: python3 python_client.py ws://HOST:PORT/ws   (exits 0 when every check passed; with
       DEFLATE=1, permessage-deflate must have been agreed)
       python3 python_client.py wss://HOST:PORT/ws CA.pem   (trusting that CA)
"""
import asyncio
import os
import random
import ssl
import sys

import websockets
from websockets.asyncio.client import connect


async def main(url: str, ca: str | None) -> int:
    rng = random.Random(6455)
    cases = [
        ("short text", "Hello World"),
        ("1 MiB binary", bytes(rng.getrandbits(8) for _ in range(1 << 20))),
        ("64 KiB of é", "é" * 32768),
    ]
    failed = 0
    tls = ssl.create_default_context(cafile=ca) if ca else None
    async with connect(url, origin="http://localhost", max_size=2 << 20, ssl=tls) as ws:
        if os.environ.get("DEFLATE") == "1":
            # Offered by websockets' default settings; the server example accepts it.
            ok = any(e.name == "permessage-deflate" for e in ws.protocol.extensions)
            failed += not ok
            print(f"python websockets {websockets.__version__}: permessage-deflate agreed: {'ok' if ok else 'FAILED'}")
        for name, payload in cases:
            await ws.send(payload)
            echo = await ws.recv()
            ok = type(echo) is type(payload) and echo == payload
            failed += not ok
            print(f"python websockets {websockets.__version__}: {name}: {'ok' if ok else 'FAILED'}")
        await ws.close(code=1000, reason="done")
    rcvd = ws.protocol.close_rcvd  # the Close the server answered with
    ok = ws.close_code == 1000 and rcvd is not None and rcvd.code == 1000
    failed += not ok
    print(f"python websockets {websockets.__version__}: close 1000: {'ok' if ok else 'FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)))

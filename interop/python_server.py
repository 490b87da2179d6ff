"""Python's `websockets` as an echo server at ws://HOST:PORT/ (any path): text as text,
binary as binary, permessage-deflate on (the library's default), messages of up to
MAX_PAYLOAD bytes (default 2 MiB). Prints "listening" once it accepts connections.

Usage: python3 python_server.py HOST PORT
"""
import asyncio
import os
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(host: str, port: int) -> None:
    async with serve(echo, host, port, max_size=int(os.environ.get("MAX_PAYLOAD", 2 << 20))):
        print("listening", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))

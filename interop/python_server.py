"""Python's `websockets` as an echo server at ws://HOST:PORT/ (any path): text as text,
binary as binary. Prints "listening" once it accepts connections.

Usage: python3 python_server.py HOST PORT
"""
import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(host: str, port: int) -> None:
    async with serve(echo, host, port, max_size=2 << 20):
        print("listening", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))

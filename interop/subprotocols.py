"""Subprotocols from two third-party clients, against a server started with
`--protocol chat --protocol echo`: Python's `websockets` and Chromium (`new WebSocket(url,
[...])`) each offer a list and must be told the server's pick, the first of their offer that
the server speaks. An offer of none of them is served without one (RFC 6455, 4.2.2): Python
goes on without a subprotocol, while Chromium fails the connection, as the WHATWG WebSocket
standard tells browsers to when none of theirs was selected. Every echo is checked.

Usage: python3 subprotocols.py ws://HOST:PORT/ws http://HOST:PORT/   (exits 0 when all pass)
"""
import asyncio
import sys
import tempfile

import websockets
from websockets.asyncio.client import connect
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

# (offered, the server's pick)
CASES = [(["mqtt", "echo", "chat"], "echo"), (["chat"], "chat"), (["mqtt"], None)]


async def python_client(url: str) -> list[tuple[str, bool]]:
    results = []
    for offered, expected in CASES:
        async with connect(url, origin="http://localhost", subprotocols=offered) as ws:
            await ws.send("over " + str(ws.subprotocol))
            echo = await ws.recv()
            ok = ws.subprotocol == expected and echo == "over " + str(expected)
            results.append((f"offered {offered}, selected {ws.subprotocol}", ok))
    return results


# Resolves with [protocol, echo] for each case, in order.
SCRIPT = """
const [url, cases, done] = arguments;
const results = [];
const next = (i) => {
  if (i === cases.length) return done(results);
  const ws = new WebSocket(url, cases[i]);
  ws.onopen = () => ws.send("over " + ws.protocol);
  ws.onmessage = (e) => { results.push([ws.protocol, e.data]); ws.close(1000); next(i + 1); };
  ws.onerror = () => { results.push(["error", ""]); next(i + 1); };
};
next(0);
"""


def chromium(url: str, page: str) -> list[tuple[str, bool]]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='ws-echo-chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_script_timeout(20)
        driver.get(page)  # a page of the server's origin, so that nothing is cross-origin
        got = driver.execute_async_script(SCRIPT, url, [offered for offered, _ in CASES])
    finally:
        driver.quit()
    results = []
    for (offered, expected), (protocol, echo) in zip(CASES, got):
        if expected is None:  # the browser fails it (see above)
            results.append((f"offered {offered}, none selected: the browser fails it",
                            protocol == "error"))
            continue
        results.append((f"offered {offered}, selected {protocol!r}",
                        protocol == expected and echo == "over " + expected))
    return results


def main() -> int:
    url, page = sys.argv[1], sys.argv[2]
    failed = 0
    for who, results in [(f"python websockets {websockets.__version__}", asyncio.run(python_client(url))),
                         ("chromium", chromium(url, page))]:
        for name, ok in results:
            failed += not ok
            print(f"{who}: subprotocols: {name}: {'ok' if ok else 'FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

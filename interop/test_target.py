"""The test target's controls from Python's websockets and from Chromium (Debian's,
driven by chromedriver), against a server started with --test-target.

websockets: ?info's first message holds a header we sent and the address we connected from;
under ?delay=300ms an echo takes at least 300 ms while a ping sent meanwhile is answered at
once; ?push sends its messages beside the echoes; under ?nopong its pings go unanswered and its
keepalive finds the server dead. Chromium: the same through the browser's own WebSocket (its Origin and User-Agent in
?info), then the page's controls (show what the server saw, a 300 ms delay) as a person uses
them.

Usage: python3 test_target.py ws://HOST:PORT/ws   (exits 0 when every check passed)
"""
import asyncio
import json
import sys
import tempfile
import time

import websockets
from websockets.asyncio.client import connect

DELAY = 0.3
SLACK = 2.0  # past the delay: this machine is shared; a late timer, not a wrong one


def report(who, checks):
    for name, ok in checks:
        print(f"{who}: {name}: {'ok' if ok else 'FAILED'}")
    return all(ok for _, ok in checks)


async def python_checks(url):
    checks = []
    async with connect(url + "?info", additional_headers={"X-Probe": "from python"}) as ws:
        info = json.loads(await ws.recv())
        host, port = ws.local_address[:2]
        checks.append(("?info holds the header we sent", ["X-Probe", "from python"] in info["headers"]))
        checks.append(("?info holds the address we connected from", info["peer"] == f"{host}:{port}"))
        checks.append(("?info says the path and query", (info["path"], info["query"]) == ("/ws", "info")))
        await ws.send("after info")
        checks.append(("then a plain echo", await ws.recv() == "after info"))
    async with connect(url + "?delay=300ms") as ws:
        sent = time.monotonic()
        await ws.send("late")
        echo = await ws.recv()
        rtt = time.monotonic() - sent
        checks.append((f"the echo comes back after the delay ({rtt * 1e3:.1f} ms)",
                       echo == "late" and DELAY <= rtt < DELAY + SLACK))
    # A ping while an echo waits is answered at once: under a minute's delay, long before the
    # echo is due (a margin no load eats).
    async with connect(url + "?delay=1m") as ws:
        sent = time.monotonic()
        await ws.send("not yet")
        await (await ws.ping(b"meanwhile"))
        ponged = time.monotonic() - sent
        checks.append((f"a ping during the delay is answered at once ({ponged * 1e3:.1f} ms)", ponged < 30))
    # ?subprotocol= and ?header= shape the 101 as Python's client reads it.
    async with connect(url + "?subprotocol=chat.v2&header=X-Test:%20yes",
                       subprotocols=["mqtt", "chat.v2"]) as ws:
        checks.append(("?subprotocol= selects the one offered", ws.subprotocol == "chat.v2"))
        checks.append(("?header= is in the 101", ws.response.headers.get("X-Test") == "yes"))
    # ?push=3&every=100ms&text=tick: three pushes beside the echoes, then no more.
    async with connect(url + "?push=3&every=100ms&text=tick") as ws:
        await ws.send("mine")
        got = sorted([await ws.recv() for _ in range(4)])
        await asyncio.sleep(0.5)
        await ws.send("last")
        checks.append((f"?push=3 sends three pushes beside the echo ({got})",
                       got == ["mine", "tick", "tick", "tick"] and await ws.recv() == "last"))
    # ?nopong: our ping goes unanswered while the echoes go on; websockets' own keepalive finds
    # the server dead and closes with 1011, as a client's dead-peer detection should.
    async with connect(url + "?nopong", ping_interval=None) as ws:
        waiter = await ws.ping(b"anyone")
        await ws.send("still echoing")
        echo = await ws.recv()
        try:
            await asyncio.wait_for(waiter, 1.0)
            ponged = True
        except asyncio.TimeoutError:
            ponged = False
        checks.append(("?nopong: a ping gets no pong, an echo still comes", echo == "still echoing" and not ponged))
    started = time.monotonic()
    async with connect(url + "?nopong", ping_interval=0.2, ping_timeout=0.5) as ws:
        try:
            await asyncio.wait_for(ws.recv(), 10)
            code = None
        except websockets.exceptions.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else (e.sent.code if e.sent else None)
        took = time.monotonic() - started
        checks.append((f"?nopong: the keepalive closes with 1011 ({code}, {took:.1f} s)", code == 1011 and took < 5))
    # ?abort&after=3 with five messages sent at once: the three echoes, then the end, every time
    # (a server that let the socket go with the last two unread made the kernel send a reset,
    # and the client lost the echoes it had not yet read).
    runs = [await abort_after_a_flood(url) for _ in range(30)]
    whole = sum(echoes == ["m0", "m1", "m2"] for echoes in runs)
    checks.append((f"?abort&after=3 after five sends gives three echoes ({whole} of 30 runs)", whole == 30))
    return report(f"python websockets {websockets.__version__}", checks)


async def abort_after_a_flood(url):
    """Sends five messages at once to ?abort&after=3; what came back before the end."""
    async with connect(url + "?abort&after=3") as ws:
        for n in range(5):
            await ws.send(f"m{n}")
        echoes = []
        try:
            while True:
                echoes.append(await ws.recv())
        except websockets.exceptions.ConnectionClosed:
            return echoes


# Run in the page: a WebSocket of the browser's own to URL; its first message and how long one
# echo took.
BROWSER_EXCHANGE = """
const [url, done] = [arguments[0], arguments[arguments.length - 1]];
const ws = new WebSocket(url);
const got = [];
let sent;
ws.onmessage = (e) => {
  got.push(e.data);
  if (got.length === 1 && url.includes("info")) { sent = performance.now(); ws.send("hi"); }
  else { done({ first: got[0], echo: e.data, ms: performance.now() - sent }); ws.close(1000); }
};
ws.onopen = () => { if (!url.includes("info")) { sent = performance.now(); ws.send("hi"); } };
ws.onerror = () => done({ error: "connect failed" });
"""


def chromium_checks(url):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    page = url.replace("ws:", "http:", 1).rsplit("/", 1)[0] + "/"
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='ws-echo-chromium-')}")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    checks = []
    try:
        driver.set_script_timeout(30)
        driver.get(page)
        text = lambda i: driver.find_element(By.ID, i).text
        info = driver.execute_async_script(BROWSER_EXCHANGE, url + "?info")
        seen = json.loads(info["first"])
        headers = dict(seen["headers"])
        checks.append(("?info holds the page's Origin", headers.get("Origin") == page.rstrip("/")))
        checks.append(("?info holds the browser's User-Agent", "Chrome" in headers.get("User-Agent", "")))
        checks.append(("then a plain echo", info["echo"] == "hi"))
        late = driver.execute_async_script(BROWSER_EXCHANGE, url + "?delay=300ms")
        checks.append((f"?delay=300ms: the echo after the delay ({late['ms']:.1f} ms)",
                       late["echo"] == "hi" and DELAY * 1e3 <= late["ms"] < (DELAY + SLACK) * 1e3))
        # The page's controls, as a person uses them.
        WebDriverWait(driver, 30).until(lambda d: text("state") == "open")
        checks.append(("the page shows the controls", driver.find_element(By.ID, "controls").is_displayed()))
        driver.find_element(By.ID, "info").click()
        delay = driver.find_element(By.ID, "delay")
        delay.clear()
        delay.send_keys("300")
        driver.find_element(By.ID, "apply").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "infoview").is_displayed())
        WebDriverWait(driver, 30).until(lambda d: text("state") == "open")
        view = text("infoview")
        checks.append(("the page shows what the server saw", view.startswith("GET /ws?info&delay=300ms\n")
                       and "User-Agent: " in view))
        driver.find_element(By.ID, "text").send_keys("slow", Keys.ENTER)
        WebDriverWait(driver, 30).until(lambda d: text("counts") == "sent 1, echoed 1, missing 0")
        last = float(text("rttinfo").split()[1])
        checks.append((f"the page's round trip shows the delay ({last} ms)", last >= DELAY * 1e3))
        # Pushes: counted apart from the echoes.
        driver.find_element(By.ID, "info").click()
        delay.clear()
        push = driver.find_element(By.ID, "push")
        push.send_keys("2")
        every = driver.find_element(By.ID, "every")
        every.clear()
        every.send_keys("100")
        driver.find_element(By.ID, "apply").click()
        WebDriverWait(driver, 30).until(lambda d: text("counts").endswith("pushed 2"))
        WebDriverWait(driver, 30).until(lambda d: "/ws?push=2&every=100ms" in text("url"))
        checks.append(("the page's push control counts two pushes, not as echoes",
                       text("counts") == "sent 1, echoed 1, missing 0, pushed 2"))
        version = driver.capabilities.get("browserVersion", "?")
    finally:
        driver.quit()
    return report(f"chromium {version}", checks)


def main():
    url = sys.argv[1]
    ok = asyncio.run(python_checks(url))
    if len(sys.argv) < 3 or sys.argv[2] != "--no-chromium":
        ok = chromium_checks(url) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

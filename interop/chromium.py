"""Loads the server's page in headless Chromium (Debian's, driven by chromedriver) with
?selftest, which exchanges a short text, 1 MiB of binary and 64 KiB of multi-byte text with
the server, checks every byte, closes with 1000, and writes its results into the page; then
uses the page as a person would (three typed messages, one of 2,048 bytes of binary) and checks
what it shows: the counts, the round-trip plot, and a screenshot with both in it.

Usage: python3 chromium.py http://HOST:PORT/   (exits 0 when every check passed)
       python3 chromium.py https://HOST:PORT/  (wss://; the test CA is not in Chromium's
                                                store, so certificate errors are ignored here)
"""
import json
import os
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


def use_the_page(driver, page):
    """Types three messages and sends 2,048 bytes of binary; returns (name, ok) per check."""
    driver.get(page)
    text = lambda i: driver.find_element(By.ID, i).text
    WebDriverWait(driver, 30).until(lambda d: text("state") == "open")
    box = driver.find_element(By.ID, "text")
    for message in ("one", "two", "three"):
        box.send_keys(message, Keys.ENTER)
    size = driver.find_element(By.ID, "size")
    size.clear()
    size.send_keys("2048")
    driver.find_element(By.ID, "binary").click()
    driver.find_element(By.ID, "sendbulk").click()
    WebDriverWait(driver, 30).until(lambda d: text("counts") == "sent 4, echoed 4, missing 0")
    points = driver.find_element(By.ID, "rtts").get_attribute("points").split()
    plot = driver.find_element(By.ID, "plot")
    shot = os.path.join(tempfile.mkdtemp(prefix="ws-echo-shot-"), "page.png")
    driver.set_window_size(1000, 900)
    saved = driver.save_screenshot(shot)
    with open(shot, "rb") as png:
        head = png.read(8)
    return [
        ("the page counts 4 sent, 4 echoed, 0 missing", True),
        ("the plot has a point per echo", len(points) == 4),
        ("the plot is drawn", plot.size["width"] > 100 and plot.size["height"] > 50),
        ("the echo of the binary message is logged", "2048 bytes of binary" in text("log")),
        ("Send is enabled while open", driver.find_element(By.ID, "send").is_enabled()),
        ("a screenshot of it is a PNG", saved and head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(shot) > 5000),
    ]


def agreed_extensions(driver, page):
    """The extensions the server agreed to with Chromium, on a WebSocket of the page's origin."""
    url = page.split("?")[0].rstrip("/").replace("http", "ws", 1) + "/ws"
    script = """
        const [url, done] = arguments;
        const ws = new WebSocket(url);
        ws.onopen = () => { done(ws.extensions); ws.close(1000); };
        ws.onerror = () => done("error");
    """
    return driver.execute_async_script(script, url)


def start_chromium(page):
    """Headless Chromium with a new empty profile, for `page` (https: the test CA's errors
    ignored)."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    if page.startswith("https:"):
        options.add_argument("--ignore-certificate-errors")  # this check only: a test CA
    profile = tempfile.mkdtemp(prefix="ws-echo-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main() -> int:
    page = sys.argv[1].rstrip("/") + "/?selftest"
    driver = start_chromium(page)
    try:
        driver.get(page)
        WebDriverWait(driver, 30).until(lambda d: d.title.startswith("selftest: "))
        results = json.loads(driver.find_element(By.ID, "results").get_attribute("textContent"))
        rows = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#checks tr")]
        state = driver.find_element(By.ID, "state").text
        version = driver.capabilities.get("browserVersion", "?")
        extensions = agreed_extensions(driver, page)
        used = use_the_page(driver, page.replace("?selftest", ""))
    finally:
        driver.quit()
    for check in results["checks"]:
        print(f"chromium {version}: {check['name']}: {'ok' if check['ok'] else 'FAILED'}")
    if "error" in results:
        print(f"chromium {version}: error: {results['error']}")
    shown = [
        ("the selftest shows a line per check, each pass",
         len(rows) == len(results["checks"]) and all(" pass " in f" {r} " for r in rows)),
        ("the selftest's badge says pass", state == "pass"),
    ]
    if os.environ.get("DEFLATE") == "1":
        # The server example accepts permessage-deflate, which every browser offers.
        shown.append(("permessage-deflate agreed", "permessage-deflate" in extensions))
    for name, ok in shown + used:
        print(f"chromium {version}: {name}: {'ok' if ok else 'FAILED'}")
    return 0 if results["passed"] and all(ok for _, ok in shown + used) else 1


if __name__ == "__main__":
    sys.exit(main())

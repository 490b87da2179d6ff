"""Loads the server's page in headless Chromium (Debian's, driven by chromedriver) with
?selftest, which exchanges a short text, 1 MiB of binary and 64 KiB of multi-byte text with
the server, checks every byte, closes with 1000, and writes its results into the page.

Usage: python3 chromium.py http://HOST:PORT/   (exits 0 when every check passed)
       python3 chromium.py https://HOST:PORT/  (wss://; the test CA is not in Chromium's
                                                store, so certificate errors are ignored here)
"""
import json
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def main() -> int:
    page = sys.argv[1].rstrip("/") + "/?selftest"
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    if page.startswith("https:"):
        options.add_argument("--ignore-certificate-errors")  # this check only: a test CA
    profile = tempfile.mkdtemp(prefix="ws-echo-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(page)
        WebDriverWait(driver, 30).until(lambda d: d.title.startswith("selftest: "))
        results = json.loads(driver.find_element(By.ID, "results").get_attribute("textContent"))
        version = driver.capabilities.get("browserVersion", "?")
    finally:
        driver.quit()
    for check in results["checks"]:
        print(f"chromium {version}: {check['name']}: {'ok' if check['ok'] else 'FAILED'}")
    if "error" in results:
        print(f"chromium {version}: error: {results['error']}")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

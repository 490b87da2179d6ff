"""WebSockets over HTTP/2 (RFC 8441) from Chromium: loads a page served over TLS with HTTP/2
(frameworks/examples/embed_axum_h2.rs, which announces extended CONNECT), then opens wss:// to
the same origin from the page and checks that Chromium carried it on that HTTP/2 connection
(the test target's ?info says "method": "CONNECT"; an HTTP/1.1 upgrade says "GET"), that a
text and 70,000 bytes of binary come back byte for byte, and that a Close 1000 is answered
with 1000; with permessage-deflate agreed (the example accepts it), so compressed frames cross
the HTTP/2 stream. Prints Chromium's extension offer and the answer.

Usage: python3 chromium_h2.py https://localhost:PORT/   (exits 0 when every check passed)
"""
import json
import sys

from chromium import start_chromium

# Runs in the page: one WebSocket, ?info first, then a text and a binary, then Close 1000.
SCRIPT = """
const [url, done] = arguments;
const binary = new Uint8Array(70000);
for (let i = 0; i < binary.length; i++) binary[i] = (i * 7919 + 13) % 251;
const result = {echoes: []};
const ws = new WebSocket(url);
ws.binaryType = "arraybuffer";
ws.onopen = () => { result.extensions = ws.extensions; };
ws.onmessage = (event) => {
  if (result.info === undefined) {
    result.info = JSON.parse(event.data);
    ws.send("over h2");
    ws.send(binary);
    return;
  }
  if (typeof event.data === "string") {
    result.echoes.push({text: event.data});
  } else {
    const got = new Uint8Array(event.data);
    result.echoes.push({binary: got.length, same: got.length === binary.length && got.every((b, i) => b === binary[i])});
  }
  if (result.echoes.length === 2) ws.close(1000, "bye");
};
ws.onerror = () => { result.error = true; };
ws.onclose = (event) => { result.close = [event.code, event.wasClean]; done(result); };
"""


def main() -> int:
    page = sys.argv[1].rstrip("/") + "/"
    driver = start_chromium(page)
    try:
        driver.set_script_timeout(30)
        driver.get(page)
        version = driver.capabilities.get("browserVersion", "?")
        navigation = driver.execute_script(
            "return performance.getEntriesByType('navigation')[0].nextHopProtocol")
        url = page.replace("https:", "wss:", 1) + "ws?info"
        result = driver.execute_async_script(SCRIPT, url)
    finally:
        driver.quit()
    info = result.get("info") or {}
    headers = {name.lower(): value for name, value in info.get("headers", [])}
    print(f"chromium {version}: sent {json.dumps(headers.get('sec-websocket-extensions'))} as its "
          f"extension offer, agreed {json.dumps(result.get('extensions'))}")
    checks = [
        ("the page came over HTTP/2", navigation == "h2"),
        ("the WebSocket came as an extended CONNECT on it", info.get("method") == "CONNECT"),
        ("... to /ws with the page's origin",
         info.get("path") == "/ws" and headers.get("origin") == page.rstrip("/")),
        ("permessage-deflate agreed", (result.get("extensions") or "").startswith("permessage-deflate")),
        ("the text came back", result["echoes"][:1] == [{"text": "over h2"}]),
        ("70,000 bytes of binary came back byte for byte",
         result["echoes"][1:] == [{"binary": 70000, "same": True}]),
        ("Close 1000 answered with 1000, cleanly", result.get("close") == [1000, True]),
        ("no error event", not result.get("error")),
    ]
    for name, ok in checks:
        print(f"chromium {version} over HTTP/2: {name}: {'ok' if ok else 'FAILED'}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

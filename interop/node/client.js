// Node's ws as a client of an echo server: a short text, 1 MiB of binary, 64 KiB of
// multi-byte text, every byte checked, then a close with 1000.
// Usage: node client.js ws://HOST:PORT/ws   (exits 0 when every check passed; with DEFLATE=1,
// permessage-deflate must have been agreed)
"use strict";
const WebSocket = require("ws");
const version = require("ws/package.json").version;

const binary = Buffer.alloc(1 << 20);
for (let i = 0; i < binary.length; i++) binary[i] = (i * 13 + 7) % 256;
const cases = [
  ["short text", "Hello World"],
  ["1 MiB binary", binary],
  ["64 KiB of é", "é".repeat(32768)],
];

const ws = new WebSocket(process.argv[2], {
  origin: "http://localhost",
  maxPayload: 2 << 20,
  perMessageDeflate: true,
});
let failed = 0, at = 0;
const report = (name, ok) => { failed += !ok; console.log(`node ws ${version}: ${name}: ${ok ? "ok" : "FAILED"}`); };
const sendNext = () => ws.send(cases[at][1]);
ws.on("open", () => {
  // With DEFLATE=1, the server must have agreed to the permessage-deflate ws offers.
  if (process.env.DEFLATE === "1") report("permessage-deflate agreed", ws.extensions.includes("permessage-deflate"));
  sendNext();
});
ws.on("message", (data, isBinary) => {
  const [name, payload] = cases[at];
  const ok = typeof payload === "string"
    ? !isBinary && data.toString("utf8") === payload
    : isBinary && Buffer.compare(data, payload) === 0;
  report(name, ok);
  if (++at < cases.length) sendNext(); else ws.close(1000, "done");
});
ws.on("close", (code) => { report("close 1000", code === 1000); process.exit(failed ? 1 : 0); });
ws.on("error", (e) => { console.log(`node ws ${version}: error: ${e.message}`); process.exit(1); });

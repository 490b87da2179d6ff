// Node's ws as a load for a permessage-deflate comparison: one connection offering
// permessage-deflate, COUNT messages of a 16 KiB JSON text, each sent once the echo of the one
// before is back and checked. Prints "agreed EXTENSIONS" and, at the end, "done COUNT".
// Usage: node deflate_load.js ws://HOST:PORT/ws COUNT
"use strict";
const WebSocket = require("ws");

const items = [];
for (let i = 0; items.length < 400; i++) items.push({ id: i, name: `item ${i}`, price: i * 1.25, tags: ["a", "b"] });
const text = JSON.stringify({ items }).slice(0, 16384);
const count = Number(process.argv[3]);
const ws = new WebSocket(process.argv[2], { perMessageDeflate: true, maxPayload: 2 << 20 });
let echoed = 0;
ws.on("open", () => {
  console.log(`agreed ${ws.extensions}`);
  ws.send(text);
});
ws.on("message", (data) => {
  if (data.toString("utf8") !== text) {
    console.log("mismatch");
    process.exit(1);
  }
  if (++echoed === count) {
    console.log(`done ${count}`);
    ws.close(1000);
  } else {
    ws.send(text);
  }
});
ws.on("close", () => process.exit(echoed === count ? 0 : 1));
ws.on("error", (e) => { console.log(`error: ${e.message}`); process.exit(1); });

// Node's ws as an echo server on HOST:PORT (any path): text as text, binary as binary.
// Prints "listening" once it accepts connections.  Usage: node server.js HOST PORT [deflate]
// (with "deflate": permessage-deflate on, ws's own defaults for it). Messages of up to
// MAX_PAYLOAD bytes (default 2 MiB).
"use strict";
const { WebSocketServer } = require("ws");
const perMessageDeflate = process.argv[4] === "deflate";
const wss = new WebSocketServer({
  host: process.argv[2],
  port: Number(process.argv[3]),
  maxPayload: Number(process.env.MAX_PAYLOAD || 2 << 20),
  perMessageDeflate,
});
wss.on("listening", () => console.log("listening"));
wss.on("connection", (ws) => {
  // A peer's protocol error closes its connection (ws sends the close code): not the process.
  ws.on("error", () => {});
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});

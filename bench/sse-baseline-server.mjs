// The limit for SSE fan-out on this machine: a plain node:http server that only keeps the
// subscribers' sockets and, for each POST, answers 202 and writes one frame to every socket.
import { createServer } from "node:http";

const sockets = new Set();
let id = 0;
const server = createServer((req, res) => {
  if (req.method === "GET") {
    // Close-delimited, as the daemon's feed: frames go to the socket as they are.
    res.useChunkedEncodingByDefault = false;
    res.writeHead(200, { "Content-Type": "text/event-stream", Connection: "close" });
    res.flushHeaders();
    sockets.add(req.socket);
    req.socket.on("close", () => sockets.delete(req.socket));
    return;
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const text = Buffer.concat(chunks).toString("utf8");
    JSON.parse(text);
    const frame = Buffer.from(`id: ${++id}\ndata: ${text}\n\n`);
    res.writeHead(202, { "Content-Type": "application/json" }).end(JSON.stringify({ id }));
    for (const socket of sockets) socket.write(frame);
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening on 127.0.0.1:${server.address().port}\n`));
process.on("SIGTERM", () => process.exit(0));

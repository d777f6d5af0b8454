// The limit for this machine: a bare node:http server that reads the body, parses it, answers 202.
import { createServer } from "node:http";

let id = 0;
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(202, { "Content-Type": "application/json" }).end(JSON.stringify({ id: ++id }));
    } catch {
      res.writeHead(400).end();
    }
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening on 127.0.0.1:${server.address().port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));

// The limit for a durable receiver on this machine and disk: node:http that reads and parses the
// body, and answers 202 only once the event is committed with synchronous=FULL, by better-sqlite3
// in WAL mode on a worker thread, one transaction per batch of waiting requests: an event row
// (13 columns, 3 indexes) and 2 delivery rows per event. No validation, no normalizing, no sinks.
import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";

const dir = mkdtempSync(join(tmpdir(), "glw-durable-baseline-"));
const worker = new Worker(
  `
  const { parentPort, workerData } = require("node:worker_threads");
  const Database = require(workerData.sqlite);
  const db = new Database(workerData.path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(\`CREATE TABLE events (id INTEGER PRIMARY KEY, delivery_id TEXT UNIQUE, received_at TEXT, hook TEXT, type TEXT, action TEXT,
      project_id INTEGER, project_path TEXT, actor TEXT, object_kind TEXT, object_id INTEGER, headers TEXT, payload TEXT);
    CREATE INDEX events_received_at ON events (received_at);
    CREATE INDEX events_project ON events (project_id, id);
    CREATE TABLE deliveries (sink TEXT, event_id INTEGER, status TEXT, next_attempt_at INTEGER, PRIMARY KEY (sink, event_id)) WITHOUT ROWID;\`);
  const event = db.prepare("INSERT INTO events (delivery_id, received_at, hook, type, action, project_id, project_path, actor, object_kind, object_id, headers, payload) VALUES (?, ?, 'system', 'merge_request', 'open', 1, 'g/p', 'u', 'merge_request', 1, '{}', ?)");
  const delivery = db.prepare("INSERT INTO deliveries VALUES (?, ?, 'pending', 0)");
  const commit = db.transaction((batch) => batch.map(([key, payload]) => {
    const id = Number(event.run(key, new Date().toISOString(), payload).lastInsertRowid);
    delivery.run("log", id);
    delivery.run("sse", id);
    return id;
  }));
  let queue = [];
  let scheduled = false;
  parentPort.on("message", (batch) => {
    queue.push(...batch);
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const items = queue;
      queue = [];
      parentPort.postMessage(commit(items));
    });
  });
  `,
  {
    eval: true,
    workerData: {
      path: join(dir, "store.sqlite"),
      sqlite: new URL("../node_modules/better-sqlite3/lib/index.js", import.meta.url).pathname,
    },
  },
);

// Requests of one turn leave in one message; answers come back in the order sent.
let outgoing = [];
let sending = false;
const waiting = [];
worker.on("message", (ids) => ids.forEach((id) => waiting.shift()(id)));

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    try {
      const text = Buffer.concat(chunks).toString("utf8");
      JSON.parse(text);
      outgoing.push([req.headers["idempotency-key"], text]);
      waiting.push((id) => res.writeHead(202, { "Content-Type": "application/json" }).end(JSON.stringify({ id })));
      if (sending) return;
      sending = true;
      queueMicrotask(() => {
        sending = false;
        worker.postMessage(outgoing);
        outgoing = [];
      });
    } catch {
      res.writeHead(400).end();
    }
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening on 127.0.0.1:${server.address().port}\n`));
process.on("SIGTERM", () =>
  server.close(async () => {
    await worker.terminate();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }),
);

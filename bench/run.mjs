// npm run bench: ingest and SSE fan-out against the bare-HTTP limit, and resume, in one run.
// Prints a table and writes bench/results.json. Options: --runs 3 --duration 5 --subscribers 1000
// --sse-rate 100 --sse-seconds 10 --pending 10000 --connections 32
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "dist/cli/index.js");
const FIXTURES = join(ROOT, "test/fixtures/gitlab");
const TOKEN = "bench-source-token-0123456789";

const { values: opts } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    subscribers: { type: "string", default: "1000" },
    "sse-rate": { type: "string", default: "100" },
    "sse-seconds": { type: "string", default: "10" },
    pending: { type: "string", default: "10000" },
  },
});
const RUNS = Number(opts.runs);
const DURATION = Number(opts.duration);
const CONNECTIONS = Number(opts.connections);
const SUBSCRIBERS = Number(opts.subscribers);
const SSE_RATE = Number(opts["sse-rate"]);
const SSE_SECONDS = Number(opts["sse-seconds"]);
const PENDING = Number(opts.pending);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (value, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Fixture bodies with the X-Gitlab-Event GitLab sends them with: mixed hooks, kinds and sizes. */
function fixtures() {
  const header = (name) => {
    if (name.startsWith("system__")) return "System Hook";
    if (name.startsWith("group__")) return "Project Hook";
    const event = name.split("__")[1];
    if (event.startsWith("merge")) return "Merge Request Hook";
    if (event.startsWith("note")) return "Note Hook";
    if (event.startsWith("issue")) return "Issue Hook";
    if (event.startsWith("pipeline")) return "Pipeline Hook";
    if (event.startsWith("tag")) return "Tag Push Hook";
    return "Push Hook";
  };
  return readdirSync(FIXTURES)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => ({ name, event: header(name), body: readFileSync(join(FIXTURES, name), "utf8") }));
}

function start(command, args, env) {
  const child = spawn(process.execPath, [command, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output = (output + chunk).slice(-4096)));
  child.stderr.on("data", (chunk) => (output = (output + chunk).slice(-4096)));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /listening on [\d.]+:(\d+)/.exec(output);
      if (match) {
        clearInterval(timer);
        resolve({ child, url: `http://127.0.0.1:${match[1]}`, listenMs: performance.now() - started });
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`${command} exited: ${output}`));
      }
    }, 5);
  });
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function startDaemon(dir, env = {}) {
  return start(CLI, ["serve"], {
    PORT: "0",
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    SOURCE_TOKEN: TOKEN,
    DATABASE_PATH: join(dir, "store.sqlite"),
    LOG_EVENTS_TO: join(dir, "events.log"),
    ...env,
  });
}

/** Peak resident memory of a process, from the kernel (VmHWM), in MB. */
function peakRssMb(pid) {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

function cannon(url, bodies, rate) {
  let n = 0;
  const requests = bodies.map((fixture) => ({
    method: "POST",
    path: "/hooks",
    headers: { "content-type": "application/json", "x-gitlab-event": fixture.event, "x-gitlab-token": TOKEN },
    body: fixture.body,
    // A fresh Idempotency-Key each time, as GitLab sends: every request is a new event.
    setupRequest: (req) => ({ ...req, headers: { ...req.headers, "idempotency-key": `bench-${process.pid}-${++n}` } }),
  }));
  return new Promise((resolve, reject) => {
    autocannon(
      { url, requests, connections: rate ? 10 : CONNECTIONS, duration: DURATION, ...(rate ? { overallRate: rate } : {}) },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

function summarize(result) {
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts + result.non2xx,
    total: result.requests.total,
  };
}

async function ingestRun(kind, bodies, rate) {
  const dir = mkdtempSync(join(tmpdir(), "glw-bench-"));
  const server = kind === "daemon" ? await startDaemon(dir) : await start(join(ROOT, "bench/baseline-server.mjs"), [], {});
  try {
    await cannon(server.url, bodies.slice(0, 3), rate ? 100 : undefined); // warm up
    return summarize(await cannon(server.url, bodies, rate));
  } finally {
    await stop(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sseRun(bodies) {
  const dir = mkdtempSync(join(tmpdir(), "glw-bench-"));
  const daemon = await startDaemon(dir, { SINKS_ENABLED: "sse,log", SSE_MAX_CLIENTS: String(Math.max(1000, SUBSCRIBERS)) });
  const subscribers = spawn(process.execPath, [join(ROOT, "bench/sse-subscribers.mjs"), `${daemon.url}/sse/`, String(SUBSCRIBERS)], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  subscribers.stdout.on("data", (chunk) => (out += chunk));
  while (!out.includes(`connected ${SUBSCRIBERS}`)) await sleep(20);

  // Public projects' events, so that subscribers without a token receive them.
  const publicBodies = bodies.filter((f) => /"visibility_level": ?20/.test(f.body));
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const sentAt = new Map();
  const total = SSE_RATE * SSE_SECONDS;
  const began = performance.now();
  const posts = [];
  for (let i = 0; i < total; i++) {
    const due = began + (i * 1000) / SSE_RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const fixture = publicBodies[i % publicBodies.length];
    const at = performance.timeOrigin + performance.now();
    posts.push(
      new Promise((resolve, reject) => {
        const req = request(`${daemon.url}/hooks`, {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "x-gitlab-event": fixture.event, "x-gitlab-token": TOKEN, "idempotency-key": randomUUID() },
        }, (res) => {
          let body = "";
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => {
            sentAt.set(JSON.parse(body).id, at);
            resolve();
          });
        });
        req.on("error", reject);
        req.end(fixture.body);
      }),
    );
  }
  await Promise.all(posts);
  await sleep(2000);
  const rss = peakRssMb(daemon.child.pid);
  out = "";
  const reported = new Promise((resolve) => subscribers.on("exit", resolve));
  subscribers.stdin.write("report\n");
  await reported;
  const received = JSON.parse(out);
  agent.destroy();
  await stop(daemon.child);
  rmSync(dir, { recursive: true, force: true });

  const latencies = [];
  let receipts = 0;
  for (const [id, at] of sentAt) {
    for (const time of received[id] ?? []) {
      latencies.push(time - at);
      receipts++;
    }
  }
  latencies.sort((a, b) => a - b);
  return { events: total, subscribers: SUBSCRIBERS, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1), lost: total * SUBSCRIBERS - receipts, peakRssMb: rss };
}

async function resumeRun(bodies) {
  const dir = mkdtempSync(join(tmpdir(), "glw-bench-"));
  const { SqliteStore } = await import(join(ROOT, "dist/core/sqlite-store.js"));
  const store = new SqliteStore(join(dir, "store.sqlite"), { synchronous: "NORMAL" });
  for (let i = 0; i < PENDING; i++) {
    const fixture = bodies[i % bodies.length];
    await store.append({ deliveryId: `pending-${i}`, receivedAt: new Date().toISOString(), instance: null, hook: "project", type: "push", action: null, project: { id: i % 50, path: `g/p${i % 50}`, url: null, visibility: "public" }, actor: null, payload: JSON.parse(fixture.body) }, ["log"]);
  }
  await store.close();
  const started = performance.now();
  const daemon = await startDaemon(dir, { SINKS_ENABLED: "sse,log" });
  for (;;) {
    const health = await (await fetch(`${daemon.url}/healthz`)).json();
    if (health.sinks.log.pending === 0) break;
    await sleep(10);
  }
  const caughtUpMs = performance.now() - started;
  const lines = readFileSync(join(dir, "events.log"), "utf8").split("\n").length - 1;
  await stop(daemon.child);
  rmSync(dir, { recursive: true, force: true });
  if (lines !== PENDING) throw new Error(`resume wrote ${lines} log lines for ${PENDING} pending deliveries`);
  return { pending: PENDING, listenMs: daemon.listenMs, caughtUpMs };
}

function medianOf(runs) {
  const out = {};
  for (const key of Object.keys(runs[0])) out[key] = median(runs.map((run) => run[key]));
  return out;
}

async function repeat(label, fn) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    process.stderr.write(`  ${label}: run ${i + 1}/${RUNS}\n`);
    runs.push(await fn());
  }
  return { median: medianOf(runs), runs };
}

const bodies = fixtures();
const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? "unknown", memoryGb: round(totalmem() / 2 ** 30), node: process.version, runs: RUNS, date: new Date().toISOString() };
process.stderr.write(`benchmarking on ${machine.cores} cores, Node ${machine.node}, ${RUNS} runs each\n`);

const results = { machine, settings: { durationSeconds: DURATION, connections: CONNECTIONS, fixtures: bodies.length } };
results.ingestFull = await repeat("ingest, full load", () => ingestRun("daemon", bodies));
results.baselineFull = await repeat("bare node:http, full load", () => ingestRun("baseline", bodies));
results.ingest500 = await repeat("ingest, 500 req/s", () => ingestRun("daemon", bodies, 500));
results.baseline500 = await repeat("bare node:http, 500 req/s", () => ingestRun("baseline", bodies, 500));
results.sse = await repeat(`SSE fan-out, ${SUBSCRIBERS} subscribers`, () => sseRun(bodies));
results.resume = await repeat(`resume of ${PENDING} pending`, () => resumeRun(bodies));
results.ratio = results.ingestFull.median.requestsPerSecond / results.baselineFull.median.requestsPerSecond;
writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);

const i = results.ingestFull.median, b = results.baselineFull.median, i5 = results.ingest500.median, b5 = results.baseline500.median, s = results.sse.median, r = results.resume.median;
const rows = [
  ["measure", "daemon", "bare node:http", "target"],
  ["ingest, full load: req/s", round(i.requestsPerSecond, 0), round(b.requestsPerSecond, 0), `≥ 0.6× bare (now ${round(results.ratio, 2)}×)`],
  ["ingest, full load: p50 / p99 / max ms", `${i.p50} / ${i.p99} / ${i.max}`, `${b.p50} / ${b.p99} / ${b.max}`, ""],
  ["ingest, full load: errors", i.errors, b.errors, "0"],
  ["ingest, 500 req/s: p50 / p99 / max ms", `${i5.p50} / ${i5.p99} / ${i5.max}`, `${b5.p50} / ${b5.p99} / ${b5.max}`, "p99 ≤ 5 ms"],
  ["ingest, 500 req/s: errors", i5.errors, b5.errors, "0"],
  [`SSE ${s.subscribers} subs @ ${SSE_RATE} ev/s: p50 / p99 / max ms`, `${round(s.p50)} / ${round(s.p99)} / ${round(s.max)}`, "", "p99 ≤ 50 ms"],
  ["SSE: events lost", s.lost, "", "0"],
  ["SSE: daemon peak RSS MB", round(s.peakRssMb), "", "≤ 200 MB"],
  [`resume ${r.pending} pending: listening / caught up ms`, `${round(r.listenMs, 0)} / ${round(r.caughtUpMs, 0)}`, "", "≤ 2000 ms"],
];
const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
console.log(`\n${machine.cores} cores (${machine.cpu}), Node ${machine.node}, medians of ${RUNS} runs, ${DURATION} s per load run\n`);
for (const row of rows) console.log(row.map((cell, c) => String(cell).padEnd(widths[c])).join("  "));
console.log("\nwritten to bench/results.json");

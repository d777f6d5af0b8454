// npm run bench: durable ingest on every store engine, alone and with the log sink, against the
// bare-HTTP limit and a minimal durable receiver; where one event's time goes; the longest stall on
// the commit path; SSE fan-out; and resume, in one run on one machine; each server's CPU time per
// request, its main thread and its other threads apart; one round trip to each server database. Prints tables and writes
// bench/results.json.
// Options: --runs 3 --seconds 8 --connections 32,128 --threads 2 --rate 500 --engines sqlite,postgres,mariadb
//          --sinks sse,log --stall-seconds 10 --subscribers 1000 --sse-rate 100 --sse-seconds 10 --pending 10000
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg as osLoadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openSqliteStore } from "../src/store/sqlite/open-sqlite-store.js";
import { projectOrderingKey } from "../src/core/ordering-key.js";
import { selectEngines, type EngineName } from "../harness/engine-names.js";
import { MariaDbServer } from "../harness/mariadb-server.js";
import { PostgresServer } from "../harness/postgres-server.js";
import { tempDir } from "../harness/temp-dir.js";
import { runAutocannon, runWrk, wrkVersion, type Load, type LoadResult } from "./load.js";
import { commitStalls, stageBreakdown } from "./stages.js";
import { cpuPerRequest, threadCpuMs } from "./thread-cpu.js";
import { roundTrips, type RoundTrips } from "./round-trips.js";
import { diskSyncs } from "./disk-fsync.js";
import { percentile } from "./percentile.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(ROOT, "dist/cli/index.js");
const FIXTURE = join(ROOT, "test/fixtures/gitlab/system__merge_request.json");
const TOKEN = "bench-source-token-0123456789";

const { values: opts } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    seconds: { type: "string", default: "8" },
    connections: { type: "string", default: "32,128" },
    sinks: { type: "string", default: "sse,log" },
    "stall-seconds": { type: "string", default: "10" },
    threads: { type: "string", default: "2" },
    rate: { type: "string", default: "500" },
    engines: { type: "string", default: "sqlite,postgres,mariadb" },
    subscribers: { type: "string", default: "1000" },
    "sse-rate": { type: "string", default: "100" },
    "sse-seconds": { type: "string", default: "10" },
    pending: { type: "string", default: "10000" },
  },
});
const RUNS = Number(opts.runs);
const SECONDS = Number(opts.seconds);
const SUBSCRIBERS = Number(opts.subscribers);
const SSE_RATE = Number(opts["sse-rate"]);
const SSE_SECONDS = Number(opts["sse-seconds"]);
const PENDING = Number(opts.pending);
const CONNECTIONS = (opts.connections ?? "32").split(",").map(Number);
/** SINKS_ENABLED of each daemon row: `sse` is ingest alone (no delivery rows), `log` a delivery per event. */
const SINK_SETS = (opts.sinks ?? "sse,log").split(",");
const STALL_SECONDS = Number(opts["stall-seconds"]);

type Engine = EngineName;
const engines = selectEngines(opts.engines ?? "");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const loadavg = () =>
  osLoadavg()
    .map((value) => round(value, 2))
    .join(", ");

interface Started {
  child: ChildProcess;
  url: string;
  listenMs: number;
}

function start(command: string, args: string[], env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [command, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4096));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
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

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** A store of the engine, durable as in production, for one run; cleaned up by the returned function. */
async function storeEnv(engine: Engine, dir: string): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  if (engine === "sqlite") return { env: { DATABASE_PATH: join(dir, "store.sqlite") }, cleanup: async () => {} };
  const server = engine === "postgres" ? await PostgresServer.start({ durable: true }) : await MariaDbServer.start({ durable: true });
  return { env: { DATABASE_URL: await server.createDatabase() }, cleanup: () => server.destroy() };
}

/** The daemon with the Procfile command; LOG_EVENTS_TO (which turns the log sink on) only where SINKS_ENABLED names it. */
function startDaemon(dir: string, env: Record<string, string>, sinks = "log"): Promise<Started> {
  return start(CLI, ["serve"], {
    PORT: "0",
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    SOURCE_TOKEN: TOKEN,
    SINKS_ENABLED: sinks,
    ...(sinks.split(",").includes("log") ? { LOG_EVENTS_TO: join(dir, "events.log") } : {}),
    DATABASE_PATH: join(dir, "store.sqlite"),
    ...env,
  });
}

const linesIn = (path: string) => {
  try {
    return readFileSync(path, "utf8").split("\n").length - 1;
  } catch {
    return 0;
  }
};

/** Waits until the log sink has nothing pending (at most `timeoutMs`); resolves with how long that took. */
async function logDrained(url: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const health = (await (await fetch(`${url}/healthz`)).json()) as { sinks: { log?: { pending: number } } };
    if ((health.sinks.log?.pending ?? 0) === 0) break;
    await sleep(20);
  }
  return performance.now() - started;
}

// The body as GitLab sends it: one line of JSON.
const body = JSON.stringify(JSON.parse(readFileSync(FIXTURE, "utf8")));
const bodyDir = tempDir("glw-bench-body-");
const bodyFile = join(bodyDir, "system__merge_request.json");
writeFileSync(bodyFile, body);
const wrk = wrkVersion();
const generator = wrk ?? "autocannon (wrk is not installed: apt-get install wrk)";

/** The reference servers: bare node:http (the machine's limit), and a minimal durable receiver (the disk's). */
type Reference = "baseline" | "durable-baseline";

interface IngestResult extends LoadResult {
  /** With the log sink: log lines written per second, from the load's start until nothing is pending. */
  loggedPerSecond?: number;
  /** With the log sink: how long after the load's end the last acknowledged event was logged. */
  drainMs?: number;
  /** With the log sink: events acknowledged (202) under the load and not in the log once drained. */
  unlogged?: number;
  /** CPU time per request of the server's main thread, and of all its other threads (Linux only). */
  cpuMainUs?: number;
  cpuOtherUs?: number;
  /** The daemon's append group commits under the load (its /metrics): appends per batch, time per batch, share of the load's time spent in them. */
  appendsPerBatch?: number;
  msPerBatch?: number;
  appendBusyShare?: number;
  longestBatchMs?: number;
}

type AppendTotals = { batches: number; appends: number; seconds: number; longestSeconds: number };

/** The daemon's append group-commit counters (README, "Metrics"). */
async function appendTotals(url: string): Promise<AppendTotals> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) =>
    Number(
      text
        .split("\n")
        .find((line) => line.startsWith(`${name} `))
        ?.split(" ")[1],
    );
  return {
    batches: value("gitlab_webhooks_store_append_batches_total"),
    appends: value("gitlab_webhooks_store_appends_total"),
    seconds: value("gitlab_webhooks_store_append_seconds_total"),
    longestSeconds: value("gitlab_webhooks_store_append_longest_seconds"),
  };
}

function batchShape(before: AppendTotals, after: AppendTotals, loadSeconds: number): Partial<IngestResult> {
  const batches = after.batches - before.batches;
  if (!(batches > 0)) return {};
  const seconds = after.seconds - before.seconds;
  return {
    appendsPerBatch: (after.appends - before.appends) / batches,
    msPerBatch: (seconds * 1000) / batches,
    appendBusyShare: seconds / loadSeconds,
    // Since the daemon started, its warm-up included: the same load.
    longestBatchMs: after.longestSeconds * 1000,
  };
}

/** How long the log sink may take to catch up after the load, before the run says what is missing. */
const DRAIN_LIMIT_MS = 10_000;

async function ingestRun(target: Reference | Engine, connections: number, rate?: number, sinks = "sse"): Promise<IngestResult> {
  const dir = tempDir("glw-bench-");
  const store = target === "baseline" || target === "durable-baseline" ? null : await storeEnv(target, dir);
  const server = store ? await startDaemon(dir, store.env, sinks) : await start(join(ROOT, `bench/${target}-server.mjs`), [], {});
  const load: Load = {
    url: server.url,
    bodyFile,
    body,
    event: "System Hook",
    token: TOKEN,
    seconds: SECONDS,
    threads: Number(opts.threads),
    connections,
    rate,
  };
  const logging = store !== null && sinks.split(",").includes("log");
  const logFile = join(dir, "events.log");
  try {
    const run = wrk ? runWrk : runAutocannon;
    await run({ ...load, seconds: 1 }); // warm up
    if (logging) await logDrained(server.url, DRAIN_LIMIT_MS);
    const linesBefore = linesIn(logFile);
    const started = performance.now();
    const pid = server.child.pid as number;
    const totalsBefore = store ? await appendTotals(server.url) : null;
    const cpuBefore = threadCpuMs(pid);
    const loadStarted = performance.now();
    const loaded = await run(load);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const cpu = cpuPerRequest(pid, cpuBefore, threadCpuMs(pid), loaded.total);
    const shape = totalsBefore ? batchShape(totalsBefore, await appendTotals(server.url), loadSeconds) : {};
    const result: IngestResult = { ...(cpu ? { ...loaded, cpuMainUs: cpu.mainUs, cpuOtherUs: cpu.otherUs } : loaded), ...shape };
    if (!logging) return result;
    const drainMs = await logDrained(server.url, DRAIN_LIMIT_MS);
    const logged = linesIn(logFile) - linesBefore;
    return {
      ...result,
      loggedPerSecond: logged / ((performance.now() - started) / 1000),
      drainMs,
      unlogged: Math.max(0, result.total - result.errors - logged),
    };
  } finally {
    await stop(server.child);
    await store?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * POSTs one event and resolves with its id. A keep-alive socket the server closed just as it was
 * reused answers ECONNRESET: the request is sent once more with the same key (a duplicate at worst).
 */
function postEvent(url: string, agent: Agent, text: string, key: string = randomUUID(), retried = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/hooks`,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "x-gitlab-event": "System Hook", "x-gitlab-token": TOKEN, "idempotency-key": key },
      },
      (res) => {
        let answer = "";
        res.on("data", (chunk: Buffer) => (answer += chunk.toString()));
        res.on("end", () => resolve((JSON.parse(answer) as { id: number }).id));
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (retried || error.code !== "ECONNRESET") reject(error);
      else postEvent(url, agent, text, key, true).then(resolve, reject);
    });
    req.end(text);
  });
}

/** The feed under load: the daemon's, or (`plain`) a server that only writes each frame to every socket. */
async function sseRun(plain = false): Promise<Record<string, number>> {
  const dir = tempDir("glw-bench-");
  const daemon = plain
    ? await start(join(ROOT, "bench/sse-baseline-server.mjs"), [], {})
    : await startDaemon(dir, { SSE_MAX_CLIENTS: String(2 * Math.max(1000, SUBSCRIBERS)) }, "sse,log");
  const subscribers = spawn(process.execPath, [join(ROOT, "bench/sse-subscribers.mjs"), `${daemon.url}/sse/`, String(SUBSCRIBERS)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  subscribers.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  while (!out.includes(`connected ${SUBSCRIBERS}`)) await sleep(20);

  // A public project's merge request, so that subscribers without a token receive it.
  const publicBody = JSON.stringify({
    ...(JSON.parse(body) as object),
    project: { ...(JSON.parse(body) as { project: object }).project, visibility_level: 20 },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const sentAt = new Map<number, number>();
  const total = SSE_RATE * SSE_SECONDS;
  const began = performance.now();
  const posts: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = began + (i * 1000) / SSE_RATE - performance.now();
    if (wait > 0) await sleep(wait);
    const at = performance.timeOrigin + performance.now();
    posts.push(postEvent(daemon.url, agent, publicBody).then((id) => void sentAt.set(id, at)));
  }
  await Promise.all(posts);
  await sleep(2000);
  const rss = peakRssMb(daemon.child.pid as number);
  out = "";
  const reported = new Promise((resolve) => subscribers.on("exit", resolve));
  subscribers.stdin.write("report\n");
  await reported;
  const received = JSON.parse(out) as Record<string, number[]>;
  agent.destroy();
  await stop(daemon.child);
  rmSync(dir, { recursive: true, force: true });

  const latencies: number[] = [];
  for (const [id, at] of sentAt) for (const time of received[id] ?? []) latencies.push(time - at);
  latencies.sort((a, b) => a - b);
  return {
    events: total,
    subscribers: SUBSCRIBERS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
    lost: total * SUBSCRIBERS - latencies.length,
    peakRssMb: rss,
  };
}

/** Peak resident memory of a process, from the kernel (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

async function resumeRun(): Promise<Record<string, number>> {
  const dir = tempDir("glw-bench-");
  const store = openSqliteStore(join(dir, "store.sqlite"));
  const payload = JSON.parse(body) as object;
  await Promise.all(
    Array.from({ length: PENDING }, (_, i) => {
      const event = {
        deliveryId: `pending-${i}`,
        receivedAt: new Date().toISOString(),
        instance: null,
        hook: "project" as const,
        type: "merge_request",
        action: "open",
        project: { id: i % 50, path: `g/p${i % 50}`, url: null, visibility: "public" as const },
        actor: null,
        object: null,
        payload,
      };
      return store.append(event, { deliveries: [{ sink: "log", orderingKey: projectOrderingKey(event) }], scope: "", payloadJson: body });
    }),
  );
  await store.close();
  const started = performance.now();
  const daemon = await startDaemon(dir, {}, "sse,log");
  for (;;) {
    const health = (await (await fetch(`${daemon.url}/healthz`)).json()) as { sinks: { log: { pending: number } } };
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

function medianOf<T extends object>(runs: T[]): T {
  const out: Record<string, number> = {};
  for (const key of Object.keys(runs[0] as object)) out[key] = median(runs.map((run) => (run as Record<string, number>)[key] as number));
  return out as T;
}

async function repeat<T extends object>(label: string, fn: () => Promise<T>): Promise<{ median: T; runs: T[] }> {
  const runs: T[] = [];
  for (let i = 0; i < RUNS; i++) {
    process.stderr.write(`  ${label}: run ${i + 1}/${RUNS}\n`);
    runs.push(await fn());
  }
  return { median: medianOf(runs), runs };
}

const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? "unknown",
  memoryGb: round(totalmem() / 2 ** 30),
  node: process.version,
  loadGenerator: generator,
  body: `system__merge_request.json as one line, ${body.length} bytes, a fresh Idempotency-Key per request`,
  runs: RUNS,
  date: new Date().toISOString(),
};
process.stderr.write(`benchmarking on ${machine.cores} cores, Node ${machine.node}, load from ${generator}, ${RUNS} runs each\n`);

const results: Record<string, unknown> = { machine, loadAverage: loadavg() };
const RATE = Number(opts.rate);
/** Paced runs keep 10 connections: enough to carry the rate, few enough that a stall shows in the p99. */
const PACED_CONNECTIONS = 10;
interface Row {
  label: string;
  result: IngestResult;
  /** The bare server's row this one is a ratio of; none for the paced rows. */
  bare?: IngestResult;
}
const fullRows: Row[] = [];
const pacedRows: Row[] = [];
for (const connections of CONNECTIONS) {
  const bare = (await repeat(`bare node:http, ${connections} connections`, () => ingestRun("baseline", connections))).median;
  fullRows.push({ label: `bare node:http, ${connections} conn.`, result: bare, bare });
  const durable = (await repeat(`minimal durable receiver, ${connections} connections`, () => ingestRun("durable-baseline", connections)))
    .median;
  fullRows.push({ label: `minimal durable receiver, ${connections} conn.`, result: durable, bare });
  for (const engine of engines) {
    for (const sinks of SINK_SETS) {
      const label = `${engine}, SINKS_ENABLED=${sinks}, ${connections} conn.`;
      fullRows.push({ label, result: (await repeat(label, () => ingestRun(engine, connections, undefined, sinks))).median, bare });
    }
  }
}
pacedRows.push({
  label: `bare node:http, ${RATE} req/s`,
  result: (await repeat(`bare node:http, ${RATE} req/s`, () => ingestRun("baseline", PACED_CONNECTIONS, RATE))).median,
});
for (const engine of engines) {
  for (const sinks of SINK_SETS) {
    const label = `${engine}, SINKS_ENABLED=${sinks}, ${RATE} req/s`;
    pacedRows.push({ label, result: (await repeat(label, () => ingestRun(engine, PACED_CONNECTIONS, RATE, sinks))).median });
  }
}
results.ingest = { full: fullRows, paced: pacedRows };
process.stderr.write("  stages of one event\n");
const stages = await stageBreakdown(ROOT, body);
results.stages = stages;
const trips: Partial<Record<"postgres" | "mariadb", RoundTrips>> = {};
/** What an append batch sends before its commit, per server engine (one INSERT per power-of-two run of rows). */
const ROUND_TRIPS_PER_APPEND: Record<"postgres" | "mariadb", string> = {
  postgres:
    "3 round trips (BEGIN with the lock, the events' INSERT … RETURNING, NOTIFY with the COMMIT; one more with deliveries to insert)",
  mariadb:
    "7 round trips (BEGIN, the lock, the id look-up, the events' INSERT, the ids read back, COMMIT, the lock's release; one more with deliveries)",
};
for (const engine of engines) {
  if (engine === "sqlite") continue;
  process.stderr.write(`  round trips to ${engine}\n`);
  trips[engine] = await roundTrips(engine);
}
results.roundTrips = trips;
const stalls =
  STALL_SECONDS > 0
    ? await repeat("appends on the store thread, 32 in flight", () => commitStalls(ROOT, body, STALL_SECONDS, 32, true))
    : null;
const stallsInline =
  STALL_SECONDS > 0 ? await repeat("the same, checkpoints in commits", () => commitStalls(ROOT, body, STALL_SECONDS, 32, false)) : null;
process.stderr.write("  the disk alone: appends and fdatasync\n");
const disk = diskSyncs();
results.stalls = { background: stalls, inCommits: stallsInline, disk };
const sse = SUBSCRIBERS > 0 ? await repeat(`SSE fan-out, ${SUBSCRIBERS} subscribers`, () => sseRun()) : null;
const ssePlain = SUBSCRIBERS > 0 ? await repeat(`plain writer, ${SUBSCRIBERS} subscribers`, () => sseRun(true)) : null;
const resume = PENDING > 0 ? await repeat(`resume of ${PENDING} pending`, resumeRun) : null;
results.sse = sse;
results.ssePlain = ssePlain;
results.resume = resume;
writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
rmSync(bodyDir, { recursive: true, force: true });

const latency = (r: LoadResult) => `${round(r.p50Ms, 2)} / ${round(r.p99Ms, 2)} / ${round(r.maxMs, 1)}`;
const logged = (r: IngestResult) =>
  r.loggedPerSecond === undefined
    ? ""
    : `${round(r.loggedPerSecond, 0)}/s, drained ${round((r.drainMs ?? 0) / 1000, 2)} s after, ${r.unlogged} unlogged`;
const batches = (r: IngestResult) =>
  r.appendsPerBatch === undefined
    ? ""
    : `${round(r.appendsPerBatch, 1)} events, ${round(r.msPerBatch ?? 0, 2)} ms (longest ${round(r.longestBatchMs ?? 0, 0)}), ${round((r.appendBusyShare ?? 0) * 100, 0)}% busy`;
const rows: string[][] = [
  [
    "measure",
    "req/s",
    "× bare",
    "p50 / p99 / max ms",
    "errors",
    "CPU µs/req, main + other threads",
    "append batches",
    "log sink end to end",
  ],
  ...[...fullRows, ...pacedRows].map(({ label, result, bare }) => [
    label,
    String(round(result.requestsPerSecond, 0)),
    bare ? String(round(result.requestsPerSecond / bare.requestsPerSecond, 2)) : "",
    latency(result),
    String(result.errors),
    result.cpuMainUs === undefined ? "" : `${round(result.cpuMainUs, 0)} + ${round(result.cpuOtherUs ?? 0, 0)}`,
    batches(result),
    logged(result),
  ]),
];
const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((row) => (row[c] as string).length)));
console.log(
  `\n${machine.cores} cores (${machine.cpu}), Node ${machine.node}, load: ${generator}, ${machine.body}; medians of ${RUNS} runs of ${SECONDS} s`,
);
console.log(`load average before the run: ${results.loadAverage as string}; after: ${loadavg()}`);
console.log("durable ingest (every 202 after its commit):\n");
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c] as number)).join("  "));
const ms = (value: number) => `${round(value, 3)} ms`;
console.log(
  `\none event, stage by stage (SQLite): parse ${ms(stages.parseMs)}, normalize ${ms(stages.normalizeMs)}, hand-off to the store thread and back ${ms(stages.handOffMs)}, ` +
    `SQL ${ms(stages.sqlMs)}, commit (fsync) ${ms(stages.commitMs)}; the answer is the rest of a request's time`,
);
for (const [label, run] of [
  ["checkpoints on their own thread (the daemon)", stalls],
  ["checkpoints in commits (before)", stallsInline],
] as const) {
  if (run)
    console.log(
      `commit path, ${run.median.appends} appends 32 in flight, ${label}: wait p50 ${ms(run.median.p50Ms)}, p99 ${ms(run.median.p99Ms)}, longest ${ms(run.median.maxMs)}; longest commit ${ms(run.median.longestCommitMs)}`,
    );
}
console.log(
  `the disk alone, ${disk.count} appends of ${disk.bytes / 1024} KB each followed by fdatasync: p50 ${ms(disk.p50Ms)}, p99 ${ms(disk.p99Ms)}, longest ${ms(disk.maxMs)} (no commit waits less than its fsync)`,
);
for (const [label, run] of [
  ["SSE", sse],
  ["plain writer (the machine's limit)", ssePlain],
] as const) {
  if (!run) continue;
  const s = run.median;
  const bytes = (body.length + 40) * SSE_RATE * SUBSCRIBERS;
  console.log(
    `${label}, ${s.subscribers} subscribers @ ${SSE_RATE} events/s (${round(bytes / 2 ** 20)} MB/s): p50 ${round(s.p50 as number)} / p99 ${round(s.p99 as number)} / max ${round(s.max as number)} ms, ${s.lost} lost, peak RSS ${round(s.peakRssMb as number)} MB`,
  );
}
if (resume)
  console.log(
    `resume of ${resume.median.pending} pending deliveries: listening after ${round(resume.median.listenMs as number, 0)} ms, caught up after ${round(resume.median.caughtUpMs as number, 0)} ms`,
  );
for (const [engine, trip] of Object.entries(trips)) {
  console.log(
    `a round trip to ${engine} (SELECT 1 on one connection, ${trip.count} in a row): p50 ${round(trip.p50Ms, 3)} ms, p99 ${round(trip.p99Ms, 3)} ms; an append batch makes ${ROUND_TRIPS_PER_APPEND[engine as keyof typeof ROUND_TRIPS_PER_APPEND]} before its commit's fsync`,
  );
}
console.log("\nwritten to bench/results.json");

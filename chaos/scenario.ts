import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import type { EngineName } from "../harness/engine-names.js";
import { freePort } from "../harness/free-port.js";
import { REPO_ROOT } from "../harness/repo-root.js";
import { tempDir } from "../harness/temp-dir.js";
import { openChaosDatabase } from "./databases.js";
import { ChaosDaemon } from "./daemons.js";
import { deliveryRates, renewalFigures, type RenewalFigures } from "./figures.js";
import { describeFault, inject, planFaults, type CutOff, type FaultKind, type FaultRecord, type PlannedFault } from "./faults.js";
import { checkInvariants, type EffectLine, type Invariant, type RunLine, type StoredEvent } from "./invariants.js";
import { Load } from "./load.js";
import { Seeded } from "./seeded.js";
import { Subscriber } from "./subscriber.js";

const SINK = join(REPO_ROOT, "test/fixtures/sinks/chaos-recorder.mjs");
const SOURCE_TOKEN = "chaos-source-token-0123456789";
const FEED_TOKEN = "chaos-feed-token-0123456789";
const ADMIN_TOKEN = "chaos-admin-token-0123456789";

export interface ChaosOptions {
  engine: EngineName;
  /** How long the load and the faults last. */
  seconds: number;
  seed: number;
  faults: readonly FaultKind[];
  /** These faults instead of a schedule drawn from the seed (the short run in npm test). */
  plan?: readonly PlannedFault[];
  /** Daemons on a server database (SQLite always has one). */
  daemons: number;
  /** Requests per second, in all. */
  rate: number;
  projects: number;
  leaseSeconds: number;
  /** After the last fault, everything must be delivered and seen within this. */
  quietBoundSeconds: number;
  /** While one daemon is frozen or cut off, the others must answer some request at least this often. */
  stallBoundSeconds: number;
  sink: { failRate: number; slowRate: number; slowMs: number };
  /** Progress lines (the schedule as it is drawn, each fault as it happens). */
  say: (line: string) => void;
}

export interface EngineReport {
  engine: EngineName;
  seed: number;
  daemons: number;
  seconds: number;
  schedule: string[];
  faults: FaultRecord[];
  events: {
    sent: number;
    acknowledged: number;
    duplicatesAnswered: number;
    stored: number;
    unanswered: number;
    troubles: Record<string, number>;
  };
  facts: Record<string, number>;
  invariants: Invariant[];
  /** Past the bound: the deliveries still pending, as the store holds them (server engines). */
  stuck: Record<string, unknown>[];
  feedReconnects: number;
  wallSeconds: number;
  /** Events acknowledged per second while the load ran, and each daemon's delivery rates. */
  ingestPerSecond: number;
  deliveryRates: Record<string, { duringLoad: number; draining: number }>;
  renewals: RenewalFigures;
  /** The machine's load average (1 min) when the run began and when it ended. */
  loadAverage: { before: number; after: number };
  /** Where the run's evidence was kept (every daemon's log, the sink's runs and effects), when an invariant failed. */
  evidence: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function api<T>(daemons: readonly ChaosDaemon[], path: string): Promise<T> {
  let last: unknown;
  for (const daemon of daemons) {
    try {
      const response = await fetch(`${daemon.url}${path}`, {
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) return (await response.json()) as T;
      last = new Error(`${path}: HTTP ${response.status}`);
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

/** Every stored event, with the chaos sink's delivery status, from the admin API. */
async function storedEvents(daemons: readonly ChaosDaemon[]): Promise<StoredEvent[]> {
  type Page = {
    events: { id: number; deliveryId: string; project: { id: number } | null; deliveries: { sink: string; status: string }[] }[];
    next: number | null;
  };
  const events: StoredEvent[] = [];
  for (let before: number | null = null; ;) {
    const page: Page = await api<Page>(daemons, `/api/events?limit=500${before === null ? "" : `&before=${before}`}`);
    for (const event of page.events) {
      events.push({
        id: event.id,
        deliveryId: event.deliveryId,
        key: event.project?.id ?? null,
        status: event.deliveries.find((delivery) => delivery.sink === "chaos")?.status ?? "none",
      });
    }
    if (page.next === null) return events;
    before = page.next;
  }
}

const lines = <T>(file: string): T[] =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as T)
    : [];

/** One engine's fault-injection run: start everything, load it, break it on schedule, then check every promise. */
export async function runChaos(options: ChaosOptions): Promise<EngineReport> {
  const began = Date.now();
  const loadBefore = loadavg()[0] ?? 0;
  const say = (line: string) => options.say(`${options.engine}: ${line}`);
  const database = await openChaosDatabase(options.engine, options.daemons);
  const dir = tempDir("glw-chaos-");
  const runsFile = join(dir, "runs.jsonl");
  const effectsFile = join(dir, "effects.jsonl");
  const env = {
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    SOURCE_TOKEN,
    SSE_TOKEN: FEED_TOKEN,
    ADMIN_TOKEN,
    SINKS_ENABLED: `sse,${SINK}`,
    DELIVERY_LEASE_SECONDS: String(options.leaseSeconds),
    RETRY_MIN_MS: "100",
    RETRY_MAX_MS: "1000",
    // The sink fails a bounded number of times: a dead letter would be the harness's doing.
    MAX_ATTEMPTS: "1000",
    SHUTDOWN_TIMEOUT_MS: "5000",
    CHAOS_SEED: String(options.seed),
    CHAOS_FAIL_RATE: String(options.sink.failRate),
    CHAOS_SLOW_RATE: String(options.sink.slowRate),
    CHAOS_SLOW_MS: String(options.sink.slowMs),
    CHAOS_RUNS_FILE: runsFile,
    CHAOS_EFFECTS_FILE: effectsFile,
  };
  const names = ["a", "b", "c", "d", "e", "f", "g", "h"].slice(0, database.daemons);
  const daemons: ChaosDaemon[] = [];
  for (const [index, name] of names.entries()) daemons.push(new ChaosDaemon(name, await freePort(), { ...env, ...database.env(index) }));
  const subscribers: Subscriber[] = [];
  let load: Load | null = null;
  try {
    // The first daemon migrates the store; the others start together.
    await (daemons[0] as ChaosDaemon).start();
    await Promise.all(daemons.slice(1).map((daemon) => daemon.start()));
    for (const daemon of daemons) subscribers.push(new Subscriber(daemon.name, daemon.url, FEED_TOKEN));
    for (const subscriber of subscribers) subscriber.open();

    const plan =
      options.plan ??
      planFaults(new Seeded(options.seed), {
        seconds: options.seconds,
        kinds: options.faults,
        daemons: daemons.length,
        leaseMs: options.leaseSeconds * 1000,
        server: database.server !== null,
      });
    const schedule = plan.map((fault) => describeFault(fault, names));
    say(
      `${daemons.length} daemon(s), seed ${options.seed}, ${options.seconds} s at ${options.rate} events/s; sink fails ${options.sink.failRate * 100}% and slows ${options.sink.slowRate * 100}% (${options.sink.slowMs} ms) of runs; faults:`,
    );
    for (const line of schedule) say(`  ${line}`);

    load = new Load(daemons, SOURCE_TOKEN, options.projects, new Seeded(options.seed + 1));
    const loadStart = Date.now();
    const loading = load.run(options.rate);
    const cutOffs: CutOff[] = [];
    const faults: FaultRecord[] = [];
    const faultRandom = new Seeded(options.seed + 2);
    for (const fault of plan) {
      const wait = loadStart + fault.at - Date.now();
      if (wait > 0) await sleep(wait);
      say(describeFault({ ...fault, at: Date.now() - loadStart }, names));
      const record = await inject(fault, daemons, database, faultRandom, cutOffs);
      faults.push(record);
      say(`  over at ${((record.to - loadStart) / 1000).toFixed(1)} s${record.note ? ` (${record.note})` : ""}`);
    }
    const endOfLoad = loadStart + options.seconds * 1000 - Date.now();
    if (endOfLoad > 0) await sleep(endOfLoad);
    const loadEnd = Date.now();
    const lastFaultEnd = faults.at(-1)?.to ?? Date.now();
    await load.stop();
    await loading;
    say(`load stopped: ${load.sent} sent, ${load.acknowledged.length} acknowledged; waiting until every event is delivered and seen`);

    // Quiet: nothing pending for the sink, and every subscriber has the newest stored id.
    const bound = lastFaultEnd + options.quietBoundSeconds * 1000;
    let quietAfterMs: number | null = null;
    for (let said = Date.now(); Date.now() < bound;) {
      try {
        const sinks = await api<{ sinks: { name: string; pending: number }[] }>(daemons, "/api/sinks");
        const newest = (await api<{ events: { id: number }[] }>(daemons, "/api/events?limit=1")).events[0]?.id ?? 0;
        const pending = sinks.sinks.find((sink) => sink.name === "chaos")?.pending;
        if (pending === 0 && subscribers.every((subscriber) => (subscriber.lastId ?? 0) >= newest)) {
          quietAfterMs = Date.now() - lastFaultEnd;
          break;
        }
        if (Date.now() - said > 5000) {
          said = Date.now();
          say(
            `  ${pending} deliveries pending; newest id ${newest}, subscribers at ${subscribers.map((subscriber) => subscriber.lastId ?? 0).join(", ")}`,
          );
        }
      } catch {
        // a daemon still starting
      }
      await sleep(500);
    }
    const stuck =
      quietAfterMs === null
        ? ((await database.server?.pendingDeliveries().catch((error: unknown) => [{ error: String(error) }])) ?? [])
        : [];
    for (const row of stuck) say(`  still pending: ${JSON.stringify(row)}`);
    // What each daemon says of itself at the bound (its store, its queue's deliveries in flight): a stall's first clue.
    const conditions = quietAfterMs === null ? await Promise.all(daemons.map((daemon) => conditionOf(daemon))) : [];
    const stored = await storedEvents(daemons);
    for (const subscriber of subscribers) subscriber.close();
    await Promise.all(daemons.map((daemon) => daemon.stop()));

    const incarnations = daemons.flatMap((daemon) => daemon.incarnations.map((incarnation) => ({ daemon: daemon.name, ...incarnation })));
    const processEnds = new Map(incarnations.map((incarnation) => [incarnation.pid, incarnation.endedAt ?? Date.now()]));
    for (const daemon of daemons) for (const frozen of daemon.frozen) cutOffs.push(frozen);
    const crashes = incarnations
      .filter((incarnation) => incarnation.endedBy === null || (incarnation.endedBy === "SIGTERM" && incarnation.exit?.code !== 0))
      .map((incarnation) => `daemon ${incarnation.daemon} (pid ${incarnation.pid}) exited by itself: ${JSON.stringify(incarnation.exit)}`);
    const runs = lines<RunLine>(runsFile);
    const logs = daemons.map((daemon) => ({ name: daemon.name, text: daemon.log() }));
    const { invariants, facts } = checkInvariants({
      acknowledged: load.acknowledged,
      stored,
      runs,
      effects: lines<EffectLine>(effectsFile),
      feeds: subscribers.map((subscriber) => ({ name: `subscriber on ${subscriber.daemon}`, ids: subscriber.ids })),
      processEnds,
      cutOffs,
      origin: loadStart,
      quietAfterMs,
      quietBoundMs: options.quietBoundSeconds * 1000,
      stallBoundMs: options.stallBoundSeconds * 1000,
      daemonOf: new Map(incarnations.map((incarnation) => [incarnation.pid, incarnation.daemon])),
      logs,
      crashes,
    });
    const evidence = invariants.some((invariant) => invariant.count > 0) ? keepEvidence(options, dir, logs, { stuck, conditions }) : null;
    if (evidence !== null) say(`an invariant failed: the daemons' logs, the sink's runs and effects are kept in ${evidence}`);
    return {
      engine: options.engine,
      seed: options.seed,
      daemons: daemons.length,
      seconds: options.seconds,
      schedule,
      faults,
      events: {
        sent: load.sent,
        acknowledged: load.acknowledged.length,
        duplicatesAnswered: load.acknowledged.filter((ack) => ack.status === 200).length,
        stored: stored.length,
        unanswered: load.unanswered.length,
        troubles: Object.fromEntries(load.troubles),
      },
      facts: {
        ...facts,
        restarts: incarnations.length - daemons.length,
        failedStarts: daemons.reduce((sum, daemon) => sum + daemon.failedStarts, 0),
      },
      invariants,
      stuck,
      feedReconnects: subscribers.reduce((sum, subscriber) => sum + subscriber.reconnects, 0),
      wallSeconds: Math.round((Date.now() - began) / 1000),
      ingestPerSecond: Math.round((load.acknowledged.length * 10_000) / (loadEnd - loadStart)) / 10,
      deliveryRates: deliveryRates(runs, loadStart, loadEnd, quietAfterMs === null ? bound : lastFaultEnd + quietAfterMs),
      renewals: renewalFigures(logs, loadStart),
      loadAverage: { before: loadBefore, after: loadavg()[0] ?? 0 },
      evidence,
    };
  } finally {
    load?.abort();
    for (const subscriber of subscribers) subscriber.close();
    for (const daemon of daemons) {
      await daemon.stop(2000).catch(() => undefined);
      daemon.cleanup();
    }
    await database.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A daemon's /healthz and its sinks' state (pending, in flight) as it answers them, or why it did not. */
async function conditionOf(daemon: ChaosDaemon): Promise<Record<string, unknown>> {
  const read = async (path: string, auth: boolean) => {
    try {
      const response = await fetch(`${daemon.url}${path}`, {
        headers: auth ? { Authorization: `Bearer ${ADMIN_TOKEN}` } : {},
        signal: AbortSignal.timeout(5000),
      });
      return { status: response.status, body: (await response.json()) as unknown };
    } catch (error) {
      return { error: String(error) };
    }
  };
  return { daemon: daemon.name, pid: daemon.pid, healthz: await read("/healthz", false), sinks: await read("/api/sinks", true) };
}

/**
 * A failed run is only worth its evidence: each daemon's log (every incarnation), the sink's runs and
 * effects, and what the store still held, copied to chaos/evidence/<engine>-<seed>/ before the
 * temporary files go.
 */
function keepEvidence(
  options: ChaosOptions,
  dir: string,
  logs: readonly { name: string; text: string }[],
  atBound: { stuck: readonly Record<string, unknown>[]; conditions: readonly unknown[] },
): string {
  const kept = join(REPO_ROOT, "chaos/evidence", `${options.engine}-${options.seed}`);
  rmSync(kept, { recursive: true, force: true });
  mkdirSync(kept, { recursive: true });
  cpSync(dir, kept, { recursive: true });
  for (const log of logs) writeFileSync(join(kept, `daemon-${log.name}.log`), log.text);
  writeFileSync(join(kept, "still-pending.json"), `${JSON.stringify(atBound.stuck, null, 2)}\n`);
  writeFileSync(join(kept, "daemons-at-bound.json"), `${JSON.stringify(atBound.conditions, null, 2)}\n`);
  return kept;
}

/** The report of one engine's run as lines of text. */
export function formatReport(report: EngineReport): string[] {
  const out = [
    `== ${report.engine}: ${report.daemons} daemon(s), seed ${report.seed}, ${report.seconds} s of load, ${report.wallSeconds} s in all`,
    `faults injected (${report.faults.length}): ${
      Object.entries(countBy(report.faults.map((fault) => fault.kind)))
        .map(([kind, n]) => `${kind} ${n}`)
        .join(", ") || "none"
    }`,
    `events: ${report.events.sent} sent, ${report.events.acknowledged} acknowledged (${report.events.duplicatesAnswered} as duplicates of a first attempt), ${report.events.stored} stored, ${report.events.unanswered} never answered`,
    `runs of the sink: ${report.facts.runs} (${report.facts.failedRuns} failed, ${report.facts.unfinishedRuns} cut short by a kill); daemon restarts ${report.facts.restarts} (${report.facts.failedStarts} starts that did not listen, tried again); feed reconnects ${report.feedReconnects}`,
  ];
  const rates = Object.entries(report.deliveryRates).map(([daemon, rate]) => `${daemon} ${rate.duringLoad}/s then ${rate.draining}/s`);
  out.push(
    `ingest ${report.ingestPerSecond} events/s; delivered per daemon during the load, then while draining: ${rates.join(", ")}; load average ${report.loadAverage.before.toFixed(1)} at the start, ${report.loadAverage.after.toFixed(1)} at the end`,
  );
  const { renewals } = report;
  out.push(
    `claim renewals: ${renewals.slow} slow (longest ${renewals.maxTookMs} ms), ${renewals.skipped} rounds skipped, timers up to ${renewals.maxLateMs} ms late`,
  );
  const troubles = Object.entries(report.events.troubles);
  if (troubles.length > 0) out.push(`requests sent again: ${troubles.map(([what, n]) => `${what} ×${n}`).join(", ")}`);
  for (const invariant of report.invariants)
    out.push(`  ${invariant.count === 0 ? "ok  " : "FAIL"} ${invariant.name}: ${invariant.count}  (${invariant.detail})`);
  return out;
}

function countBy(items: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

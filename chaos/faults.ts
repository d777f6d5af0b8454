import type { ChaosDatabase } from "./databases.js";
import type { ChaosDaemon } from "./daemons.js";
import type { Seeded } from "./seeded.js";

export const FAULT_KINDS = ["kill", "freeze", "terminate", "db-restart", "partition"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Faults that need a database server (and its proxies). */
const SERVER_FAULTS: readonly FaultKind[] = ["terminate", "db-restart", "partition"];

export interface PlannedFault {
  /** Milliseconds after the load began. */
  at: number;
  kind: FaultKind;
  /** The daemon it hits (kill, freeze, partition). */
  daemon: number;
  /** How long it lasts: down (kill, db-restart), frozen (freeze), cut off (partition). */
  ms: number;
  /** partition: the traffic is first delayed by `delayMs` per chunk for `delayForMs`. */
  delayMs: number;
  delayForMs: number;
  /** terminate: how many sessions. */
  count: number;
}

/** A fault as it happened: when it began and ended. */
export interface FaultRecord extends PlannedFault {
  from: number;
  to: number;
  /** What it did, for the report ("ended 3 sessions"). */
  note: string;
}

/** A time a daemon's process could not reach the database (frozen, partitioned, server down). */
export interface CutOff {
  /** The process cut off, or null for all of them (the server was down). */
  pid: number | null;
  from: number;
  to: number;
}

/** The faults of a run, drawn from the seed: one at a time, a few seconds apart, until `seconds` less a margin. */
export function planFaults(
  random: Seeded,
  options: { seconds: number; kinds: readonly FaultKind[]; daemons: number; leaseMs: number; server: boolean },
): PlannedFault[] {
  const kinds = options.kinds.filter((kind) => options.server || !SERVER_FAULTS.includes(kind));
  const plan: PlannedFault[] = [];
  if (kinds.length === 0) return plan;
  const end = options.seconds * 1000 - 3000;
  for (let at = 3000; at < end;) {
    const kind = random.pick(kinds);
    const fault: PlannedFault = { at, kind, daemon: random.int(0, options.daemons - 1), ms: 0, delayMs: 0, delayForMs: 0, count: 0 };
    if (kind === "kill") fault.ms = random.int(300, 2000);
    if (kind === "freeze") fault.ms = Math.round(options.leaseMs * (2 + random.next() * 1.5));
    if (kind === "db-restart") fault.ms = random.int(2000, 5000);
    if (kind === "terminate") fault.count = random.int(1, 4);
    if (kind === "partition") {
      fault.delayMs = random.int(100, 400);
      fault.delayForMs = random.int(2000, 3000);
      fault.ms = Math.round(options.leaseMs * (1.5 + random.next() * 1.5));
    }
    plan.push(fault);
    at += fault.delayForMs + fault.ms + random.int(2500, 5000);
  }
  return plan;
}

export function describeFault(fault: PlannedFault, daemonNames: readonly string[]): string {
  const who = daemonNames[fault.daemon] ?? `#${fault.daemon}`;
  const at = `${(fault.at / 1000).toFixed(1)} s`;
  switch (fault.kind) {
    case "kill":
      return `${at}: kill -9 daemon ${who}, restart after ${fault.ms} ms`;
    case "freeze":
      return `${at}: SIGSTOP daemon ${who} for ${fault.ms} ms, then SIGCONT`;
    case "db-restart":
      return `${at}: stop the database for ${fault.ms} ms, then start it`;
    case "terminate":
      return `${at}: terminate ${fault.count} of the daemons' database sessions`;
    case "partition":
      return `${at}: delay daemon ${who}'s database traffic by ${fault.delayMs} ms for ${fault.delayForMs} ms, then cut it off for ${fault.ms} ms, then heal`;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Carries out one fault and says what it did; `cutOffs` gets the times a process could not reach the store. */
export async function inject(
  fault: PlannedFault,
  daemons: readonly ChaosDaemon[],
  database: ChaosDatabase,
  random: Seeded,
  cutOffs: CutOff[],
): Promise<FaultRecord> {
  const daemon = daemons[fault.daemon] as ChaosDaemon;
  const from = Date.now();
  let note = "";
  switch (fault.kind) {
    case "kill": {
      note = `pid ${daemon.pid}`;
      await daemon.kill();
      await sleep(fault.ms);
      await daemon.start();
      break;
    }
    case "freeze": {
      note = `pid ${daemon.pid}`;
      await daemon.freeze(fault.ms);
      break;
    }
    case "db-restart": {
      await database.server?.stop();
      const down = Date.now();
      await sleep(fault.ms);
      await database.server?.restart();
      cutOffs.push({ pid: null, from: down, to: Date.now() });
      break;
    }
    case "terminate": {
      const ended = (await database.server?.terminateSessions(random, fault.count)) ?? 0;
      note = `ended ${ended} sessions`;
      break;
    }
    case "partition": {
      const proxy = database.proxy(fault.daemon);
      proxy?.delay(fault.delayMs);
      await sleep(fault.delayForMs);
      proxy?.partition();
      const cut = Date.now();
      await sleep(fault.ms);
      proxy?.heal();
      cutOffs.push({ pid: daemon.pid, from: cut, to: Date.now() });
      note = `pid ${daemon.pid}`;
      break;
    }
  }
  return { ...fault, from, to: Date.now(), note };
}

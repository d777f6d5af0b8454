import type { Acknowledged } from "./load.js";
import type { CutOff } from "./faults.js";

export interface StoredEvent {
  id: number;
  deliveryId: string;
  key: number | null;
  /** The chaos sink's delivery status in the store. */
  status: string;
}

/** One line of the sink's runs file. */
export interface RunLine {
  run: string;
  daemon: string;
  pid: number;
  id: number;
  key: number | null;
  phase: "start" | "end";
  at: number;
  ok?: boolean;
}

export interface EffectLine {
  id: number;
  daemon: string;
  pid: number;
  run: string;
  at: number;
}

export interface Observed {
  acknowledged: readonly Acknowledged[];
  stored: readonly StoredEvent[];
  runs: readonly RunLine[];
  effects: readonly EffectLine[];
  /** Each subscriber's name and the ids it received, in order. */
  feeds: readonly { name: string; ids: readonly number[] }[];
  /** When each process ended (killed or exited); a run it had not finished ended then. */
  processEnds: ReadonlyMap<number, number>;
  cutOffs: readonly CutOff[];
  /** When the load began: times in the report are seconds after it. */
  origin: number;
  /** From the end of the last fault until every event was delivered and seen, or null past the bound. */
  quietAfterMs: number | null;
  quietBoundMs: number;
  stallBoundMs: number;
  /** Which daemon each process was. */
  daemonOf: ReadonlyMap<number, string>;
  /** Each daemon's name and everything its processes printed; and exits the harness did not cause. */
  logs: readonly { name: string; text: string }[];
  crashes: readonly string[];
}

/** The promises, by a short name that stays the same whatever the figures. */
export const INVARIANTS = ["lost", "delivered", "twice", "effects", "order", "feed", "bound", "stall", "logs"] as const;

export interface Invariant {
  id: (typeof INVARIANTS)[number];
  name: string;
  /** How many times it was broken: 0 when it holds. */
  count: number;
  /** What was broken, with a few examples. */
  detail: string;
}

const examples = (items: readonly (number | string)[], n = 8) =>
  items.length === 0 ? "" : `: ${items.slice(0, n).join(", ")}${items.length > n ? ", …" : ""}`;

interface Run {
  run: string;
  pid: number;
  daemon: string;
  id: number;
  start: number;
  end: number;
  ok: boolean | null;
}

/** Each run with its interval; a run whose process died before its end ended with the process. */
function runsOf(lines: readonly RunLine[], processEnds: ReadonlyMap<number, number>): Map<number, Run[]> {
  const byRun = new Map<string, Run>();
  for (const line of lines) {
    if (line.phase === "start")
      byRun.set(line.run, {
        run: line.run,
        pid: line.pid,
        daemon: line.daemon,
        id: line.id,
        start: line.at,
        end: processEnds.get(line.pid) ?? Infinity,
        ok: null,
      });
  }
  for (const line of lines) {
    const run = byRun.get(line.run);
    if (line.phase === "end" && run) Object.assign(run, { end: line.at, ok: line.ok ?? false });
  }
  const byEvent = new Map<number, Run[]>();
  for (const run of byRun.values())
    byEvent.set(
      run.id,
      [...(byEvent.get(run.id) ?? []), run].sort((a, b) => a.start - b.start),
    );
  return byEvent;
}

/** Whether the process could not reach the store for part of the run (frozen, partitioned, server down). */
const cutOffDuring = (run: Run, cutOffs: readonly CutOff[]) =>
  cutOffs.some((cut) => (cut.pid === null || cut.pid === run.pid) && cut.from < run.end && cut.to > run.start);

/** Every promise of issue #20 the run can check, each as a count of how often it was broken. */
export function checkInvariants(seen: Observed): { invariants: Invariant[]; facts: Record<string, number> } {
  const stored = new Map(seen.stored.map((event) => [event.id, event]));
  const storedIds = [...stored.keys()].sort((a, b) => a - b);
  const runs = runsOf(seen.runs, seen.processEnds);
  const invariants: Invariant[] = [];

  // Acknowledged = stored: every id answered 202 or 200 is stored, under the key it was sent with, and one key has one id.
  const lost = seen.acknowledged.filter((ack) => stored.get(ack.id)?.deliveryId !== ack.key);
  const idsOfKey = new Map<string, Set<number>>();
  for (const ack of seen.acknowledged) idsOfKey.set(ack.key, (idsOfKey.get(ack.key) ?? new Set()).add(ack.id));
  const twoIds = [...idsOfKey].filter(([, ids]) => ids.size > 1).map(([key]) => key);
  invariants.push({
    id: "lost",
    name: "acknowledged = stored (0 lost)",
    count: lost.length + twoIds.length,
    detail: `${lost.length} acknowledged ids not stored under their key${examples(lost.map((ack) => ack.id))}; ${twoIds.length} keys answered with two ids`,
  });

  // Every stored event delivered to the sink: recorded so by the store, and a run that ended well.
  const undelivered = storedIds.filter((id) => stored.get(id)?.status !== "delivered" || !runs.get(id)?.some((run) => run.ok === true));
  invariants.push({
    id: "delivered",
    name: "every event delivered to the sink",
    count: undelivered.length,
    detail: `${undelivered.length} of ${storedIds.length} not delivered${examples(undelivered)}`,
  });

  // No delivery run twice at the same time. Two runs of one event whose intervals overlap break it,
  // in one process always; in two processes unless one was cut off from the store meanwhile (a
  // frozen or partitioned holder's run goes on in wall-clock time once its claim has lapsed: those
  // are counted apart, as expected, and their side effects are still checked below).
  const twice: number[] = [];
  const pairs: string[] = [];
  const when = (run: Run) =>
    `${run.daemon} (pid ${run.pid}) ${((run.start - seen.origin) / 1000).toFixed(1)}–${Number.isFinite(run.end) ? ((run.end - seen.origin) / 1000).toFixed(1) : "never ended"} s`;
  let excused = 0;
  for (const [id, list] of runs) {
    let broken = false;
    for (let i = 0; i < list.length && !broken; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i] as Run;
        const b = list[j] as Run;
        if (b.start >= a.end) continue;
        if (a.pid !== b.pid && (cutOffDuring(a, seen.cutOffs) || cutOffDuring(b, seen.cutOffs))) {
          excused++;
          continue;
        }
        broken = true;
        if (pairs.length < 3) pairs.push(`event ${id} ran on ${when(a)} and on ${when(b)}`);
        break;
      }
    }
    if (broken) twice.push(id);
  }
  invariants.push({
    id: "twice",
    name: "no delivery run twice at the same time",
    count: twice.length,
    detail: `${twice.length} events had two runs at once${examples(twice)}${pairs.length > 0 ? ` (${pairs.join("; ")})` : ""}; ${excused} overlaps beside a holder cut off from the store not counted`,
  });

  // Side effects exactly once per stored event.
  const effects = new Map<number, number>();
  for (const effect of seen.effects) effects.set(effect.id, (effects.get(effect.id) ?? 0) + 1);
  const none = storedIds.filter((id) => !effects.has(id));
  const many = storedIds.filter((id) => (effects.get(id) ?? 0) > 1);
  invariants.push({
    id: "effects",
    name: "side effects exactly once per event",
    count: none.length + many.length,
    detail: `${many.length} events acted on more than once${examples(many)}; ${none.length} never${examples(none)}`,
  });

  // Per-key order: no run of an event starts before every earlier event of its key was delivered.
  const delivered = (id: number) => Math.min(...(runs.get(id) ?? []).filter((run) => run.ok === true).map((run) => run.end));
  const byKey = new Map<number | null, number[]>();
  for (const id of storedIds) byKey.set(stored.get(id)?.key ?? null, [...(byKey.get(stored.get(id)?.key ?? null) ?? []), id]);
  const outOfOrder: number[] = [];
  for (const ids of byKey.values()) {
    let previousDelivered = -Infinity;
    for (const id of ids) {
      const first = runs.get(id)?.[0]?.start;
      if (first !== undefined && first < previousDelivered) outOfOrder.push(id);
      const at = delivered(id);
      if (Number.isFinite(at)) previousDelivered = Math.max(previousDelivered, at);
    }
  }
  invariants.push({
    id: "order",
    name: "per-key order kept",
    count: outOfOrder.length,
    detail: `${outOfOrder.length} events started before an earlier event of their key was delivered${examples(outOfOrder)}`,
  });

  // Every subscriber saw every stored id, in order, no gap, no duplicate.
  let feedBroken = 0;
  const feedDetails: string[] = [];
  for (const feed of seen.feeds) {
    const got = new Set(feed.ids);
    const missing = storedIds.filter((id) => !got.has(id));
    const duplicates = feed.ids.length - got.size;
    let backwards = 0;
    for (let i = 1; i < feed.ids.length; i++) if ((feed.ids[i] as number) <= (feed.ids[i - 1] as number)) backwards++;
    const unknown = feed.ids.filter((id) => !stored.has(id)).length;
    feedBroken += missing.length + duplicates + backwards + unknown;
    if (missing.length + duplicates + backwards + unknown > 0) {
      feedDetails.push(
        `${feed.name}: ${missing.length} missing${examples(missing, 5)}, ${duplicates} duplicates, ${backwards} out of order, ${unknown} never stored`,
      );
    }
  }
  invariants.push({
    id: "feed",
    name: "every subscriber saw every id in order, no gap, no duplicate",
    count: feedBroken,
    detail: feedDetails.join("; ") || `${seen.feeds.length} subscribers, each saw all ${storedIds.length}`,
  });

  invariants.push({
    id: "bound",
    name: `all delivered within ${seen.quietBoundMs / 1000} s after the last fault`,
    count: seen.quietAfterMs === null ? 1 : 0,
    detail:
      seen.quietAfterMs === null
        ? "still not delivered and seen at the bound"
        : `quiet ${(seen.quietAfterMs / 1000).toFixed(1)} s after the last fault`,
  });

  // No lock outlives its holder: while one daemon is frozen or cut off, the others go on answering.
  const stalls: string[] = [];
  let longest = 0;
  const oneDaemon = new Set(seen.daemonOf.values()).size < 2;
  for (const cut of seen.cutOffs) {
    if (cut.pid === null || oneDaemon) continue;
    const holder = seen.daemonOf.get(cut.pid);
    const times = seen.acknowledged.filter((ack) => ack.daemon !== holder && ack.at >= cut.from && ack.at <= cut.to).map((ack) => ack.at);
    const edges = [cut.from, ...times.sort((a, b) => a - b), cut.to];
    let silence = 0;
    for (let i = 1; i < edges.length; i++) silence = Math.max(silence, (edges[i] as number) - (edges[i - 1] as number));
    longest = Math.max(longest, silence);
    if (silence > seen.stallBoundMs)
      stalls.push(`${(silence / 1000).toFixed(1)} s while ${holder} was cut off at ${((cut.from - seen.origin) / 1000).toFixed(1)} s`);
  }
  invariants.push({
    id: "stall",
    name: `other daemons answer within ${seen.stallBoundMs / 1000} s while one is frozen or cut off`,
    count: stalls.length,
    detail: stalls.length > 0 ? `no answer from the others for ${stalls.join("; ")}` : `longest silence ${(longest / 1000).toFixed(1)} s`,
  });

  // No unhandled rejection, crash or TypeError in any daemon's log; no exit the harness did not cause.
  const BUG = /unhandled rejection|uncaught|a bug: please report it|TypeError|ReferenceError|RangeError|FATAL ERROR|Segmentation fault/i;
  const bugLines = seen.logs.flatMap((log) =>
    log.text
      .split("\n")
      .filter((line) => BUG.test(line))
      .map((line) => `${log.name}: ${line.slice(0, 200)}`),
  );
  invariants.push({
    id: "logs",
    name: "no unhandled rejection, crash or TypeError in any log",
    count: bugLines.length + seen.crashes.length,
    detail: [...seen.crashes, ...bugLines.slice(0, 3)].join(" | ") || "none",
  });

  const allRuns = [...runs.values()].flat();
  return {
    invariants,
    facts: {
      runs: allRuns.length,
      failedRuns: allRuns.filter((run) => run.ok === false).length,
      unfinishedRuns: allRuns.filter((run) => run.ok === null).length,
      excusedOverlaps: excused,
    },
  };
}

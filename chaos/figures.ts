import type { RunLine } from "./invariants.js";

/** What the daemons' logs say of their claim renewals (lines "claim renewal slow" and "claim renewal skipped"). */
export interface RenewalFigures {
  /** Renewals that came back later than half their period after they were due. */
  slow: number;
  /** Rounds not started because the previous renewal was still running. */
  skipped: number;
  maxTookMs: number;
  /** The longest a renewal's timer fired after it was due: the event loop was busy. */
  maxLateMs: number;
  /** Each slow renewal, seconds after the load began, for a look at when they came. */
  lines: { daemon: string; at: number; tookMs: number; lateMs: number }[];
}

interface LogLine {
  message?: unknown;
  timestamp?: unknown;
  tookMs?: unknown;
  lateMs?: unknown;
}

function logLines(text: string): LogLine[] {
  return text.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

export function renewalFigures(logs: readonly { name: string; text: string }[], origin: number): RenewalFigures {
  const figures: RenewalFigures = { slow: 0, skipped: 0, maxTookMs: 0, maxLateMs: 0, lines: [] };
  for (const { name, text } of logs) {
    for (const line of logLines(text)) {
      const lateMs = Number(line.lateMs ?? 0);
      if (line.message === "claim renewal skipped: the previous one is still running") {
        figures.skipped++;
        figures.maxLateMs = Math.max(figures.maxLateMs, lateMs);
      } else if (line.message === "claim renewal slow") {
        const tookMs = Number(line.tookMs ?? 0);
        figures.slow++;
        figures.maxTookMs = Math.max(figures.maxTookMs, tookMs);
        figures.maxLateMs = Math.max(figures.maxLateMs, lateMs);
        figures.lines.push({ daemon: name, at: (Date.parse(String(line.timestamp)) - origin) / 1000, tookMs, lateMs });
      }
    }
  }
  return figures;
}

/** Deliveries that ended well per second, per daemon, while the load ran and while the backlog drained after it. */
export function deliveryRates(
  runs: readonly RunLine[],
  loadStart: number,
  loadEnd: number,
  quietAt: number,
): Record<string, { duringLoad: number; draining: number }> {
  const rates: Record<string, { duringLoad: number; draining: number }> = {};
  const perSecond = (count: number, ms: number) => (ms > 0 ? Math.round((count * 10_000) / ms) / 10 : 0);
  const daemons = new Set(runs.map((run) => run.daemon));
  for (const daemon of daemons) {
    const ended = runs.filter((run) => run.daemon === daemon && run.phase === "end" && run.ok === true);
    rates[daemon] = {
      duringLoad: perSecond(ended.filter((run) => run.at >= loadStart && run.at < loadEnd).length, loadEnd - loadStart),
      draining: perSecond(ended.filter((run) => run.at >= loadEnd && run.at < quietAt).length, quietAt - loadEnd),
    };
  }
  return rates;
}

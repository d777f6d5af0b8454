// CPU time per request, by thread, read from Linux's /proc: where a server's cores went, whatever
// else ran on the machine (wall-clock rates move with the other load; CPU time per request much less).
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's times (sysconf(_SC_CLK_TCK); 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** User plus system time of each thread of a process, in milliseconds, by thread id; empty where /proc is not. */
export function threadCpuMs(pid: number): Map<number, number> {
  const times = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      // Fields after the command name (which may hold spaces): state, then utime and stime 11 and 12 places on.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      times.set(Number(tid), ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND);
    }
  } catch {
    return new Map();
  }
  return times;
}

export interface CpuPerRequest {
  /** The main thread (HTTP, parsing, the sinks). */
  mainUs: number;
  /** Every other thread: the store's, the checkpoints', V8's collector and compiler helpers, libuv's pool. */
  otherUs: number;
}

/** Microseconds of CPU per request between two readings of `pid`'s threads; null without /proc. */
export function cpuPerRequest(
  pid: number,
  before: Map<number, number>,
  after: Map<number, number>,
  requests: number,
): CpuPerRequest | null {
  if (after.size === 0 || requests <= 0) return null;
  let mainMs = 0;
  let otherMs = 0;
  for (const [tid, ms] of after) {
    const spent = ms - (before.get(tid) ?? 0);
    if (tid === pid) mainMs += spent;
    else otherMs += spent;
  }
  return { mainUs: (mainMs * 1000) / requests, otherUs: (otherMs * 1000) / requests };
}

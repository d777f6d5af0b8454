// What the disk alone does for a commit: an append and an fdatasync, over and over, in the
// directory the benchmark's stores use. The commit path cannot stall less than the disk does.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile } from "./percentile.js";

export interface DiskSyncs {
  count: number;
  bytes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** `count` appends of `bytes` (a commit's write-ahead-log frames, about) each followed by fdatasync. */
export function diskSyncs(count = 3000, bytes = 16 * 1024): DiskSyncs {
  const dir = mkdtempSync(join(tmpdir(), "glw-bench-fsync-"));
  const fd = openSync(join(dir, "log"), "a");
  const frame = Buffer.alloc(bytes, 1);
  const each: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      writeSync(fd, frame);
      fdatasyncSync(fd);
      each.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  each.sort((a, b) => a - b);
  return { count, bytes, p50Ms: percentile(each, 50), p99Ms: percentile(each, 99), maxMs: each.at(-1) as number };
}

import { type FileHandle, open } from "node:fs/promises";
import { writeSync } from "node:fs";

const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;

/** Writes all of `data` at the end of the file (opened with "a"), looping over short writes. */
export function appendAll(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}

/** Position of the last newline before `end`, or -1. */
async function lastNewlineBefore(file: FileHandle, end: number): Promise<number> {
  const chunk = Buffer.alloc(CHUNK);
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const { bytesRead } = await file.read(chunk, 0, end - start, start);
    const index = chunk.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (index !== -1) return start + index;
    end = start;
  }
  return -1;
}

/**
 * Cuts a line left half-written by a crash (kill -9 mid-write), so that every line of the file is
 * whole; returns the last `count` whole lines, oldest first.
 */
export async function repairTail(path: string, count: number): Promise<string[]> {
  let file: FileHandle;
  try {
    file = await open(path, "r+");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  try {
    const { size } = await file.stat();
    let end = await lastNewlineBefore(file, size);
    if (end + 1 < size) await file.truncate(end + 1);
    const lines: string[] = [];
    while (end !== -1 && lines.length < count) {
      const start = (await lastNewlineBefore(file, end)) + 1;
      const line = Buffer.alloc(end - start);
      await file.read(line, 0, line.length, start);
      lines.unshift(line.toString("utf8"));
      end = start - 1;
    }
    return lines;
  } finally {
    await file.close();
  }
}

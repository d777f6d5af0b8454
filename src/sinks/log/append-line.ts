import { type FileHandle, open } from "node:fs/promises";

const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;

/** Writes all of `data` at the end of the file, looping over short writes. */
export async function appendAll(file: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await file.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
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
 * whole; returns the last whole line, if any.
 */
export async function repairTail(path: string): Promise<string | null> {
  let file: FileHandle;
  try {
    file = await open(path, "r+");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    const { size } = await file.stat();
    const last = await lastNewlineBefore(file, size);
    if (last + 1 < size) await file.truncate(last + 1);
    if (last === -1) return null;
    const start = (await lastNewlineBefore(file, last)) + 1;
    const line = Buffer.alloc(last - start);
    await file.read(line, 0, line.length, start);
    return line.toString("utf8");
  } finally {
    await file.close();
  }
}

import { closeSync, fstatSync, ftruncateSync, openSync, statSync } from "node:fs";
import type { Logger } from "winston";
import { writableDirectoryOf } from "../../support/writable-directory.js";
import { appendAll } from "./append-line.js";

/**
 * The event log's file: every line whole, or none of it. A write that fails part-way (disk full,
 * a file size limit) is cut back to where the line began before the error is thrown, so that the
 * retry does not append to a fragment. A file deleted or moved away without a SIGHUP is noticed at
 * the next line, which goes to a new file at the configured path.
 */
export class LogFile {
  private fd: number | undefined;
  private inode = 0;
  /** Where the last whole line ends, when cutting a failed write back failed too: cut at the next write. */
  private tornAt: number | null = null;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  open(): void {
    writableDirectoryOf(this.path, "LOG_EVENTS_TO", "point LOG_EVENTS_TO at a writable directory");
    const fd = openSync(this.path, "a");
    const previous = this.fd;
    this.fd = fd;
    this.inode = fstatSync(fd).ino;
    this.tornAt = null;
    if (previous !== undefined) closeSync(previous);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  appendLine(line: Buffer): void {
    const current = statSync(this.path, { throwIfNoEntry: false });
    if (this.fd === undefined || current === undefined || current.ino !== this.inode) {
      if (this.fd !== undefined)
        this.logger.warn("the event log file was deleted or moved without a SIGHUP; writing to a new one", { path: this.path });
      this.open();
    }
    const fd = this.fd as number;
    if (this.tornAt !== null) {
      ftruncateSync(fd, this.tornAt);
      this.tornAt = null;
    }
    const before = fstatSync(fd).size;
    try {
      appendAll(fd, line);
    } catch (error) {
      try {
        ftruncateSync(fd, before);
      } catch {
        this.tornAt = before;
      }
      throw error;
    }
  }
}

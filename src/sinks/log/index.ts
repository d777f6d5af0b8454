import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import type { GitLabEvent } from "../../core/event.js";
import type { Sink, SinkFactory } from "../../core/sink.js";
import { appendAll, repairTail } from "./append-line.js";

export const DEFAULT_LOG_PATH = "data/events.log";

function idOfLine(line: string | null): number | null {
  if (line === null) return null;
  try {
    const id = (JSON.parse(line) as { id?: unknown }).id;
    return typeof id === "number" ? id : null;
  } catch {
    return null;
  }
}

/**
 * `log`: every event as one JSON line in LOG_EVENTS_TO. One line is written at a time, whole, so
 * lines never interleave; SIGHUP reopens the file for logrotate.
 */
export const createLogSink: SinkFactory = ({ config, store, logger }) => {
  const path = config.LOG_EVENTS_TO ?? DEFAULT_LOG_PATH;
  let file: FileHandle | undefined;
  /** An event written just before a crash, before its delivery was recorded: not written twice. */
  let writtenBeforeCrash: number | null = null;

  const openFile = async () => {
    await mkdir(dirname(path), { recursive: true });
    file = await open(path, "a");
  };

  const sink: Sink = {
    name: "log",
    // Deliveries one at a time, in id order: only the last line can be unrecorded after a crash.
    concurrency: 1,
    accepts: () => true,
    async start() {
      const lastId = idOfLine(await repairTail(path));
      if (lastId !== null) {
        const deliveries = await store.deliveriesOf(lastId);
        if (deliveries.some((d) => d.sink === "log" && d.status === "pending")) writtenBeforeCrash = lastId;
      }
      await openFile();
      logger.debug("log sink writing", { path });
    },
    async handle(event: GitLabEvent) {
      if (event.id === writtenBeforeCrash) {
        writtenBeforeCrash = null;
        return;
      }
      if (!file) await openFile();
      await appendAll(file as FileHandle, Buffer.from(`${JSON.stringify(event)}\n`));
    },
    async reopen() {
      const previous = file;
      await openFile();
      await previous?.close();
      logger.info("log sink reopened its file", { path });
    },
    async stop() {
      await file?.close();
      file = undefined;
    },
    health: () => ({ path }),
  };
  return sink;
};

import { eventJson, type GitLabEvent } from "../../core/event.js";
import { UNRECORDED_PER_LANE } from "../../core/delivery-queue.js";
import type { Sink, SinkFactory } from "../../core/sink.js";
import { repairTail } from "./append-line.js";
import { LogFile } from "./log-file.js";
import type { LogSinkSettings } from "./settings.js";

/** What this sink reads of the configuration. */
type Settings = LogSinkSettings;

const DEFAULT_LOG_PATH = "data/events.log";

/** Deliveries at once (lanes), each writing its line whole. */
const LANES = 16;
/**
 * After a crash, only lines among the last this many can be written but unrecorded: each lane runs
 * at most UNRECORDED_PER_LANE deliveries ahead of their commit, and every commit takes all that is
 * queued.
 */
const CRASH_WINDOW_LINES = LANES * UNRECORDED_PER_LANE;

function idOfLine(line: string): number | null {
  try {
    const id = (JSON.parse(line) as { id?: unknown }).id;
    return typeof id === "number" ? id : null;
  } catch {
    return null;
  }
}

/**
 * `log`: every event as one JSON line in LOG_EVENTS_TO. A line is one synchronous write of the
 * whole line, so lines never interleave; SIGHUP reopens the file for logrotate.
 */
export const createLogSink: SinkFactory<Settings> = ({ config, store, logger }) => {
  const path = config.LOG_EVENTS_TO ?? DEFAULT_LOG_PATH;
  const file = new LogFile(path, logger);
  /** Events written just before a crash, before their delivery was recorded: not written twice. */
  const writtenBeforeCrash = new Set<number>();

  const sink: Sink = {
    name: "log",
    concurrency: LANES,
    accepts: () => true,
    async start() {
      for (const line of await repairTail(path, CRASH_WINDOW_LINES)) {
        const id = idOfLine(line);
        if (id === null) continue;
        const deliveries = await store.deliveriesOf(id);
        if (deliveries.some((d) => d.sink === "log" && d.status === "pending")) writtenBeforeCrash.add(id);
      }
      file.open();
      logger.debug("log sink writing", { path });
    },
    async handle(event: GitLabEvent) {
      if (writtenBeforeCrash.delete(event.id)) return;
      file.appendLine(Buffer.from(`${eventJson(event)}\n`));
    },
    async reopen() {
      file.open();
      logger.info("log sink reopened its file", { path });
    },
    async stop() {
      file.close();
    },
    health: () => ({ path }),
  };
  return sink;
};

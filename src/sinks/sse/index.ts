import type { SinkFactory } from "../../core/sink.js";

/** Placeholder until the feed lands: accepts nothing, so it queues nothing. */
export const createSseSink: SinkFactory = () => ({
  name: "sse",
  accepts: () => false,
  handle: async () => {},
});

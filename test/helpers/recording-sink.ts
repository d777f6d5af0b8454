import type { GitLabEvent } from "../../src/core/event.js";
import type { Sink, SinkFactory } from "../../src/core/sink.js";

export interface Recording {
  calls: { id: number; at: number }[];
  delivered: number[];
}

/**
 * A sink that records each call; `behave` decides per call: resolve, throw (retry) or throw a
 * PermanentError, after an optional delay.
 */
export function recordingSink(
  name: string,
  behave: (event: GitLabEvent, attempt: number) => Promise<void> | void = () => {},
  options: { concurrency?: number; accepts?: (event: GitLabEvent) => boolean } = {},
): { factory: SinkFactory; recording: Recording } {
  const recording: Recording = { calls: [], delivered: [] };
  const attempts = new Map<number, number>();
  const factory: SinkFactory = () => {
    const sink: Sink = {
      name,
      concurrency: options.concurrency,
      accepts: options.accepts ?? (() => true),
      async handle(event) {
        const attempt = (attempts.get(event.id) ?? 0) + 1;
        attempts.set(event.id, attempt);
        recording.calls.push({ id: event.id, at: Date.now() });
        await behave(event, attempt);
        recording.delivered.push(event.id);
      },
    };
    return sink;
  };
  return { factory, recording };
}

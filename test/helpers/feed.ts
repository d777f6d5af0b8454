import { EventSourceParserStream, type EventSourceMessage } from "eventsource-parser/stream";
import { sleep } from "./sleep.js";

export interface Feed {
  response: Response;
  messages: EventSourceMessage[];
  /** Ids of the data messages received so far. */
  ids(): number[];
  waitForCount(n: number, timeoutMs?: number): Promise<EventSourceMessage[]>;
  close(): void;
}

/** Opens /sse/ with fetch and collects its messages in the background. */
export async function openFeed(url: string, headers: Record<string, string> = {}): Promise<Feed> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const messages: EventSourceMessage[] = [];
  if (response.ok && response.body) {
    void (async () => {
      try {
        const stream = response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
        for await (const message of stream) messages.push(message);
      } catch {
        // closed by the test or the daemon
      }
    })();
  }
  const dataMessages = () => messages.filter((m) => m.event === undefined);
  return {
    response,
    messages,
    ids: () => dataMessages().map((m) => Number(m.id)),
    async waitForCount(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (dataMessages().length < n) {
        if (Date.now() > deadline) throw new Error(`feed got ${dataMessages().length} of ${n} messages`);
        await sleep(10);
      }
      return dataMessages();
    },
    close: () => controller.abort(),
  };
}

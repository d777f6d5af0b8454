import { randomUUID } from "node:crypto";
import type { Seeded } from "./seeded.js";

export interface Acknowledged {
  key: string;
  id: number;
  /** 202 stored, or 200 a duplicate of what a first attempt stored. */
  status: 200 | 202;
  /** Which daemon answered, and when. */
  daemon: string;
  at: number;
}

/**
 * Concurrent ingest at a steady rate, each request with a fresh Idempotency-Key. A request that
 * gets no answer, or a 5xx, is sent again with the same key (to the next daemon), as GitLab resends
 * a delivery: a first attempt that was stored after all is then answered 200 duplicate.
 */
export class Load {
  readonly acknowledged: Acknowledged[] = [];
  /** Answers other than 200/202 and failures without an answer, by what happened. */
  readonly troubles = new Map<string, number>();
  /** Keys whose retries ran out without an answer: stored or not, no one knows. */
  readonly unanswered: string[] = [];
  sent = 0;
  private running = true;
  private readonly inFlight = new Set<Promise<void>>();
  private next = 0;

  constructor(
    private readonly daemons: readonly { name: string; url: string }[],
    private readonly token: string,
    private readonly projects: number,
    private readonly random: Seeded,
    private readonly retryForMs = 90_000,
  ) {}

  /**
   * Sends `rate` requests a second until stop(). While `maxInFlight` requests wait for an answer
   * (every daemon down), new ones wait too: the harness must not flood the machine it measures.
   */
  async run(rate: number, maxInFlight = 200): Promise<void> {
    const began = Date.now();
    for (let n = 0; this.running; n++) {
      const wait = began + (n * 1000) / rate - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      while (this.running && this.inFlight.size >= maxInFlight) await new Promise((resolve) => setTimeout(resolve, 50));
      if (!this.running) break;
      const project = this.random.int(1, this.projects);
      const request = this.deliver(randomUUID(), project, n);
      this.inFlight.add(request);
      void request.finally(() => this.inFlight.delete(request));
    }
  }

  /** Stops sending new events and waits for the ones under way to be answered (or given up). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.inFlight);
  }

  /** Stops at once, resending nothing more (the run itself failed). */
  abort(): void {
    this.running = false;
    this.aborted = true;
  }

  private aborted = false;

  private note(trouble: string): void {
    this.troubles.set(trouble, (this.troubles.get(trouble) ?? 0) + 1);
  }

  private async deliver(key: string, project: number, seq: number): Promise<void> {
    this.sent++;
    const body = JSON.stringify({
      object_kind: "push",
      project: { id: project, path_with_namespace: `chaos/p${project}`, visibility_level: 20 },
      chaos_seq: seq,
    });
    const deadline = Date.now() + this.retryForMs;
    for (let attempt = 1; Date.now() < deadline && !this.aborted; attempt++) {
      const { name, url } = this.daemons[this.next++ % this.daemons.length] as { name: string; url: string };
      try {
        const response = await fetch(`${url}/hooks`, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Token": this.token,
            "Idempotency-Key": key,
          },
          body,
          signal: AbortSignal.timeout(5000),
        });
        const answer = (await response.json().catch(() => ({}))) as { id?: number };
        if ((response.status === 202 || response.status === 200) && typeof answer.id === "number") {
          this.acknowledged.push({ key, id: answer.id, status: response.status, daemon: name, at: Date.now() });
          return;
        }
        this.note(`HTTP ${response.status}`);
        // 4xx means the request itself is wrong: sending it again changes nothing.
        if (response.status < 500) return;
      } catch (error) {
        this.note(error instanceof Error && error.name === "TimeoutError" ? "no answer within 5 s" : "connection failed");
      }
      // Backing off as GitLab does, so that a daemon coming back is not met by a flood.
      await new Promise((resolve) => setTimeout(resolve, Math.min(4000, 250 * 2 ** (attempt - 1))));
    }
    this.unanswered.push(key);
  }
}

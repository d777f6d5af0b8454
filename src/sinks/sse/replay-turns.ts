/**
 * Replays take turns: one page of one subscriber at a time, with a turn of the event loop between
 * pages, so that however many subscribers replay at once (anonymous ones included), ingest and
 * live delivery wait at most one page for their own turn.
 */
export class ReplayTurns {
  private waiting: (() => void)[] = [];
  private busy = false;

  /** Resolves when it is this caller's turn; call the returned function when its page is sent. */
  take(): Promise<() => void> {
    return new Promise((resolve) => {
      this.waiting.push(() => resolve(() => this.release()));
      if (!this.busy) this.next();
    });
  }

  private next(): void {
    const grant = this.waiting.shift();
    this.busy = grant !== undefined;
    grant?.();
  }

  private release(): void {
    // Everything that waits on I/O (requests to /hooks among them) runs before the next page.
    setImmediate(() => this.next());
  }
}

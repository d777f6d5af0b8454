/**
 * Room on the feed: SSE_MAX_CLIENTS subscribers in all, of which a tenth is kept for token holders
 * (the dashboard, bots with SSE_TOKEN) so that anonymous subscribers never fill it. A slot is taken
 * as the request arrives, before anything is awaited, so that subscribers arriving together are
 * counted together; it is given back exactly once, however the connection ends.
 */
export class FeedSlots {
  readonly reservedForTokens: number;
  private taken = 0;
  private anonymous = 0;

  constructor(readonly max: number) {
    this.reservedForTokens = Math.max(1, Math.ceil(max / 10));
  }

  /** Slots held now: connected subscribers, and those still being set up. */
  get size(): number {
    return this.taken;
  }

  /** A slot, as the function that gives it back (idempotent); null when the feed is full for this client. */
  take(privileged: boolean): (() => void) | null {
    if (this.taken >= this.max || (!privileged && this.anonymous >= this.max - this.reservedForTokens)) return null;
    this.taken++;
    if (!privileged) this.anonymous++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.taken--;
      if (!privileged) this.anonymous--;
    };
  }
}

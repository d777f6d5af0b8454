import type { EventActor } from "../../core/event.js";
import { integer, record, text } from "../../gitlab/payload.js";
import type { Store } from "../../core/store.js";
import type { Credential } from "./credentials.js";
import { withStorableText } from "../../core/storable-text.js";

/** Users this process knows, so that a known user costs no read and no write. */
const CACHE_LIMIT = 50_000;

/** The user an event names: `user.id`/`user.username`, or the flat user_id/user_username of pushes; storable, as the event's actor is. */
function userOf(body: unknown): { id: number | null; username: string | null } {
  const fields = record(body);
  const user = record(fields.user);
  return withStorableText({ id: integer(user.id) ?? integer(fields.user_id), username: text(user.username) ?? text(fields.user_username) });
}

/**
 * Usernames by user id. System hooks' push events name the pusher by id and display name only;
 * every event that shows an id with its username (from an instance-wide credential: a project
 * token must not rename anyone) teaches the store, and events without a username are completed
 * from it, so that a feed says `@jsmith`, not `John Smith`.
 */
export class KnownUsers {
  private readonly known = new Map<number, string>();

  constructor(private readonly store: Store) {}

  async actorOf(actor: EventActor | null, body: unknown, credential: Credential): Promise<EventActor | null> {
    const { id, username } = userOf(body);
    if (id === null) return actor;
    if (username !== null) {
      if (credential.kind !== "project" && this.known.get(id) !== username) {
        await this.store.rememberUser(id, username, Date.now());
        this.cache(id, username);
      }
      return actor;
    }
    const found = this.known.get(id) ?? (await this.store.usernameOf(id));
    if (found === null) return actor;
    this.cache(id, found);
    return { name: actor?.name ?? null, username: found };
  }

  private cache(id: number, username: string): void {
    if (this.known.size >= CACHE_LIMIT) this.known.clear();
    this.known.set(id, username);
  }
}

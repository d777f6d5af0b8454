import type { StoredEvent } from "../../core/event.js";

/**
 * Keys withheld from subscribers without a token: people's e-mail addresses (`email`, `user_email`,
 * authors' `email` in commits) and pipeline variables, which may hold secrets.
 */
function withheld(key: string): boolean {
  return key === "email" || key.endsWith("_email") || key === "variables";
}

/** JSON text without the withheld keys, at any depth. */
export function withoutPersonalData(json: string): string {
  return JSON.stringify(JSON.parse(json) as unknown, (key, value: unknown) => (withheld(key) ? undefined : value));
}

/** The event as a subscriber without a token sees it: public projects' events without personal data. */
export function publicEventJson(event: StoredEvent): string {
  return withoutPersonalData(event.json);
}

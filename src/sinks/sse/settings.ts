import { flag, integer, list, settingsGroup, type SettingsOf } from "../../config/settings.js";

/** The sse sink's variables (ADMIN_TOKEN reads the feed too). */
export const sseSettings = settingsGroup(
  {
    SSE_TOKEN: list,
    SSE_MAX_CLIENTS: integer(1000, 1, 1_000_000),
    SSE_KEEPALIVE_SECONDS: integer(15, 1, 3600),
    SSE_MAX_BACKLOG_BYTES: integer(4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    SSE_MAX_REPLAY: integer(10_000, 1, 100_000_000),
    SSE_ANONYMOUS_FULL_PAYLOAD: flag,
  },
  ["SSE_TOKEN"],
);

export type SseSettings = SettingsOf<typeof sseSettings>;

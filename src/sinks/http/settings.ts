import { integer, optionalText, settingsGroup, type SettingsOf } from "../../config/settings.js";

/** The http sink's variables: its endpoints are a JSON file (./endpoints.ts reads it). */
export const httpSinkSettings = settingsGroup({
  HTTP_SINK_FILE: optionalText,
  HTTP_SINK_TIMEOUT_MS: integer(10_000, 1, 600_000),
});

export type HttpSinkSettings = SettingsOf<typeof httpSinkSettings>;

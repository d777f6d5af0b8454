import { optionalText, settingsGroup, type SettingsOf } from "../../config/settings.js";

/** The log sink's variable; setting it also turns the sink on (see the wiring). */
export const logSinkSettings = settingsGroup({
  LOG_EVENTS_TO: optionalText,
});

export type LogSinkSettings = SettingsOf<typeof logSinkSettings>;

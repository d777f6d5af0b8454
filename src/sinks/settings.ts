import type { DaemonConfig } from "../config/daemon-settings.js";
import { settingsGroup, type SettingsOf } from "../config/settings.js";
import { gitlabMentionsSettings } from "./gitlab-mentions/settings.js";
import { httpSinkSettings } from "./http/settings.js";
import { logSinkSettings } from "./log/settings.js";
import { phabricatorSettings } from "./phabricator/settings.js";
import { sseSettings } from "./sse/settings.js";

/** Every built-in sink's variables, read whether or not the sink is enabled (a typo fails at start). */
export const builtinSinkSettings = settingsGroup(
  {
    ...phabricatorSettings.shape,
    ...gitlabMentionsSettings.shape,
    ...sseSettings.shape,
    ...httpSinkSettings.shape,
    ...logSinkSettings.shape,
  },
  [
    ...phabricatorSettings.secrets,
    ...gitlabMentionsSettings.secrets,
    ...sseSettings.secrets,
    ...httpSinkSettings.secrets,
    ...logSinkSettings.secrets,
  ],
);

/** What the built-in sinks are given as `ctx.config`: the daemon's settings and all of theirs. */
export type BuiltinSinkConfig = DaemonConfig & SettingsOf<typeof builtinSinkSettings>;

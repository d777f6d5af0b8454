import { integer, optionalText, optionalUrl, settingsGroup, type SettingsOf } from "../../config/settings.js";

/** The gitlab-mentions sink's variables (it also reads GITLAB_URL, GITLAB_TOKEN and GITLAB_TIMEOUT_MS). */
export const gitlabMentionsSettings = settingsGroup({
  REVIEWERS_URL: optionalUrl,
  REVIEWERS_FILE: optionalText,
  REVIEWERS_TTL: integer(600, 1, 604800),
});

export type GitLabMentionsSettings = SettingsOf<typeof gitlabMentionsSettings>;

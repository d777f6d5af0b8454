import { flag, integer, optionalText, optionalUrl, settingsGroup, type SettingsOf } from "../../config/settings.js";

/** The phabricator sink's variables (it also reads GITLAB_URL, GITLAB_TOKEN and GITLAB_TIMEOUT_MS). */
export const phabricatorSettings = settingsGroup(
  {
    PHABRICATOR_URL: optionalUrl,
    PHABRICATOR_TOKEN: optionalText,
    PHABRICATOR_PATCH_FOR_REVIEW: optionalText,
    PHABRICATOR_DRY_RUN: flag,
    PHABRICATOR_PRIVATE: flag,
    PHABRICATOR_TIMEOUT_MS: integer(15_000, 1, 600_000),
  },
  ["PHABRICATOR_TOKEN"],
);

export type PhabricatorSettings = SettingsOf<typeof phabricatorSettings>;

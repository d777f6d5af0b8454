import type { SinkFactory } from "../core/sink.js";
import { createGitLabMentionsSink } from "./gitlab-mentions/index.js";
import { createHttpSink } from "./http/index.js";
import { createInventorySink } from "./inventory/index.js";
import { createLogSink } from "./log/index.js";
import { createPhabricatorSink } from "./phabricator/index.js";
import { createSseSink } from "./sse/index.js";
import type { BuiltinSinkConfig } from "./settings.js";

/** The sinks SINKS_ENABLED can name; anything else must be a path to a plugin module. */
export const builtinSinks: Readonly<Record<string, SinkFactory<BuiltinSinkConfig>>> = {
  "gitlab-mentions": createGitLabMentionsSink,
  http: createHttpSink,
  inventory: createInventorySink,
  log: createLogSink,
  phabricator: createPhabricatorSink,
  sse: createSseSink,
};

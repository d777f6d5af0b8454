/**
 * The plugin API: what a sink of your own may import from "gitlab-webhooks". A plugin module
 * exports a SinkFactory (default or `createSink`) and is named by path in SINKS_ENABLED.
 * Everything here is kept stable across minor versions; anything else in the package is not.
 */
import type { Config } from "./configuration.js";
import type * as Contract from "./core/sink.js";

/** What a plugin's factory and handle() are given; `config` holds every variable the daemon reads. */
export type SinkContext = Contract.SinkContext<Config>;
export type Sink = Contract.Sink<Config>;
export type SinkFactory = Contract.SinkFactory<Config>;
export type { OnceOptions, SinkLedger } from "./core/sink.js";
export type { EventActor, EventMeta, EventProject, GitLabEvent, HookKind, Visibility } from "./core/event.js";
export type { Config } from "./configuration.js";
export type { Bus } from "./core/bus.js";
export type { Store } from "./core/store.js";
export { classifyFailure, isPermanentError, PermanentError, RetryLaterError, retryAfter, type Failure } from "./core/failure.js";
export {
  integer,
  isMergeRequest,
  list,
  mergeRequestOf,
  mergeRequestOrderingKey,
  record,
  text,
  usernames,
  webUrl,
  type JsonObject,
  type MergeRequestEvent,
  type MergeRequestView,
} from "./gitlab/payload.js";
export { projectOrderingKey } from "./core/ordering-key.js";

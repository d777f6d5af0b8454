/**
 * The plugin API: what a sink of your own may import from "gitlab-webhooks". A plugin module
 * exports a SinkFactory (default or `createSink`) and is named by path in SINKS_ENABLED.
 * Everything here is kept stable across minor versions; anything else in the package is not.
 */
export type { OnceOptions, Sink, SinkContext, SinkFactory, SinkLedger } from "./core/sink.js";
export type { EventActor, EventMeta, EventProject, GitLabEvent, HookKind, Visibility } from "./core/event.js";
export type { Config } from "./core/config.js";
export type { Bus } from "./core/bus.js";
export type { Store } from "./store/store.js";
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

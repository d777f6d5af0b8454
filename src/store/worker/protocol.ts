import { ConfigError } from "../../config/settings.js";
import { StoredEvent, type EventMeta } from "../../core/event.js";
import type { AppendResult, Engine } from "../../core/store.js";

/** A store method by name; inventory methods as `inventory.<name>`. */
export type Call = { id: number; method: string; args: unknown[] };

export type WorkerMessage =
  | { kind: "ready"; engine: Engine; shared: boolean; location: string }
  | { kind: "failed"; error: EncodedError }
  | { kind: "results"; results: Result[] }
  | { kind: "commits" }
  | { kind: "log"; level: "warn" | "debug"; message: string; fields?: Record<string, unknown> };

export type MainMessage = { kind: "calls"; calls: Call[] } | { kind: "watch"; on: boolean };

export type Result = { id: number; value: unknown } | { id: number; error: EncodedError };

interface EncodedError {
  name: string;
  message: string;
  code?: unknown;
}

const STORED_EVENT = "$storedEvent";

/** A value as it crosses threads: stored events become plain data (a class does not survive the copy). */
export function encode(value: unknown): unknown {
  if (value instanceof StoredEvent)
    return { [STORED_EVENT]: true, meta: value.meta, payloadJson: value.payloadJson, requestHeaders: value.requestHeaders };
  if (Array.isArray(value)) return value.map(encode);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encode(inner)]));
  }
  return value;
}

/**
 * A method's answer as it crosses back. An append's stored event is what the caller handed in
 * plus its id: only the id and whether it was a duplicate cross (the caller builds the event
 * again), not the payload and fields it already has.
 */
export function encodeResult(method: string, value: unknown): unknown {
  if (method === "append") {
    const { id, duplicate } = value as AppendResult;
    return { id, duplicate };
  }
  return encode(value);
}

export function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    if (record[STORED_EVENT] === true) {
      return new StoredEvent(
        record.meta as EventMeta,
        record.payloadJson as string,
        record.requestHeaders as Record<string, string> | null,
      );
    }
    return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, decode(inner)]));
  }
  return value;
}

export function encodeError(error: unknown): EncodedError {
  if (error instanceof Error) return { name: error.name, message: error.message, code: (error as { code?: unknown }).code };
  return { name: "Error", message: String(error) };
}

/** The error again, of the class callers test for (a ConfigError stops start-up with exit 78). */
export function decodeError(encoded: EncodedError): Error {
  const error = encoded.name === "ConfigError" ? new ConfigError(encoded.message) : new Error(encoded.message);
  if (encoded.name !== "ConfigError") error.name = encoded.name;
  if (encoded.code !== undefined) (error as Error & { code?: unknown }).code = encoded.code;
  return error;
}

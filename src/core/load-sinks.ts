import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../config/settings.js";
import { StoreLedger } from "./ledger.js";
import { didYouMean } from "../support/lookalike-variables.js";
import type { SharedSinkContext, Sink, SinkContext, SinkFactory } from "./sink.js";
import { errorMessage } from "../support/error-message.js";

export interface LoadedSink<Config extends object = object> {
  sink: Sink<Config>;
  /** The context its factory was given, with the sink's own ledger: also what its handle() is given. */
  ctx: SinkContext<Config>;
}

/** A name that is a path (./my-sink.js, /opt/sinks/x.js) names a user's plugin module. */
function isModulePath(name: string): boolean {
  return name.startsWith(".") || isAbsolute(name) || name.includes("/");
}

function isSink<Config extends object>(value: unknown): value is Sink<Config> {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.name === "string" && typeof candidate.accepts === "function" && typeof candidate.handle === "function";
}

async function importFactory<Config extends object>(name: string): Promise<SinkFactory<Config>> {
  const url = pathToFileURL(resolve(name)).href;
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`SINKS_ENABLED names the module ${name}, which could not be loaded: ${errorMessage(error)}`);
  }
  const factory = module.default ?? module.createSink;
  if (typeof factory !== "function") {
    throw new ConfigError(`SINKS_ENABLED names the module ${name}, which exports no sink factory (default or createSink)`);
  }
  return factory as SinkFactory<Config>;
}

/**
 * Builds the sinks named in SINKS_ENABLED: built-in names from `builtins`, paths as plugin modules.
 * Each factory checks its own settings and throws a ConfigError naming what is missing. Each sink
 * gets a ledger of its own, kept under the name it returns; an intent in it older than
 * `ledgerStaleMs` (the delivery lease) is taken for a run that ended without saying how.
 */
export async function loadSinks<Config extends object>(
  names: readonly string[],
  builtins: Readonly<Record<string, SinkFactory<Config>>>,
  shared: SharedSinkContext<Config>,
  ledgerStaleMs: number,
): Promise<LoadedSink<Config>[]> {
  const sinks: LoadedSink<Config>[] = [];
  for (const name of new Set(names)) {
    const builtin = Object.hasOwn(builtins, name) ? builtins[name] : undefined;
    if (!builtin && !isModulePath(name)) {
      const known = Object.keys(builtins).join(", ");
      throw new ConfigError(
        `SINKS_ENABLED names an unknown sink "${name}"${didYouMean(name, Object.keys(builtins))} (built-in: ${known}; or a path like ./my-sink.js)`,
      );
    }
    const factory = builtin ?? (await importFactory<Config>(name));
    const ledger = new StoreLedger(shared.store, ledgerStaleMs);
    const made = await factory({ ...shared, ledger });
    for (const [index, sink] of (Array.isArray(made) ? (made as unknown[]) : [made]).entries()) {
      if (!isSink<Config>(sink))
        throw new ConfigError(`SINKS_ENABLED: the factory for "${name}" did not return a sink (name, accepts, handle)`);
      if (sinks.some((other) => other.sink.name === sink.name)) {
        throw new ConfigError(`SINKS_ENABLED: two sinks are named "${sink.name}"`);
      }
      // The factory's ledger is its first sink's; each further sink it returns keeps its own.
      if (index === 0) ledger.bind(sink.name);
      sinks.push({ sink, ctx: { ...shared, ledger: index === 0 ? ledger : new StoreLedger(shared.store, ledgerStaleMs, sink.name) } });
    }
  }
  return sinks;
}

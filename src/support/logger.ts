import winston from "winston";
import { BatchedConsole } from "./batched-console.js";

interface LoggerOptions {
  debug: boolean;
  json: boolean;
  /** Values to replace by [redacted] wherever they would appear, whatever a caller passed in. */
  secrets?: readonly string[];
  silent?: boolean;
  /** Write here instead of the console (tests read what a user would see). */
  stream?: NodeJS.WritableStream;
}

const REDACTED = "[redacted]";

/** Replaces each of `secrets` in a text by [redacted], the longest first (one may contain another). */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const sorted = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of sorted) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };
}

function redactor(secrets: readonly string[]) {
  const redact = createRedactor(secrets);
  return winston.format((info) => {
    for (const key of Object.keys(info)) {
      const value = info[key];
      if (typeof value === "string") info[key] = redact(value);
    }
    return info;
  })();
}

export function createLogger(options: LoggerOptions): winston.Logger {
  const line = options.json
    ? winston.format.json()
    : winston.format.printf(({ timestamp, level, message, ...meta }) => {
        const rest = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : "";
        return `${String(timestamp)} ${level} ${String(message)}${rest}`;
      });
  return winston.createLogger({
    level: options.debug ? "debug" : "info",
    silent: options.silent ?? false,
    format: winston.format.combine(
      winston.format.errors({ stack: false }),
      redactor(options.secrets ?? []),
      winston.format.timestamp(),
      line,
    ),
    transports: [
      options.stream ? new winston.transports.Stream({ stream: options.stream }) : new BatchedConsole(new Set(["error", "warn"])),
    ],
  });
}

import winston from "winston";

export interface LoggerOptions {
  debug: boolean;
  json: boolean;
  /** Values to replace by [redacted] wherever they would appear, whatever a caller passed in. */
  secrets?: readonly string[];
  silent?: boolean;
  /** Write here instead of the console (tests read what a user would see). */
  stream?: NodeJS.WritableStream;
}

const REDACTED = "[redacted]";

function redactor(secrets: readonly string[]) {
  const sorted = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  const redact = (value: unknown): unknown => {
    if (typeof value === "string") {
      let out = value;
      for (const secret of sorted) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
      return out;
    }
    return value;
  };
  return winston.format((info) => {
    for (const key of Object.keys(info)) info[key] = redact(info[key]);
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
      options.stream
        ? new winston.transports.Stream({ stream: options.stream })
        : new winston.transports.Console({ stderrLevels: ["error", "warn"] }),
    ],
  });
}

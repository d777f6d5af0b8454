import { parseArgs, type ParseArgsConfig } from "node:util";
import { closestName } from "../support/lookalike-variables.js";

/** A command-line mistake: printed as one line with a pointer to the command's --help, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** The command (or `hooks status`) whose --help answers it; main() fills in the command. */
  command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** The first value of a comma-separated setting (SOURCE_TOKEN=old,new → old), if any. */
export function firstOf(list: string | undefined): string | undefined {
  return list
    ?.split(",")
    .map((item) => item.trim())
    .find((item) => item !== "");
}

/** node:util's messages, in one line a person reads (its unknown-option hint quotes badly once wrapped). */
function usageMessage(error: Error & { code?: string }, config: ParseArgsConfig): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) {
    const near = closestName(option.replace(/^-+/, ""), Object.keys(config.options ?? {}));
    return `unknown option ${option}${near === undefined ? "" : ` (did you mean --${near}?)`}`;
  }
  if (error.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) {
    return /argument missing/.test(error.message) ? `${option} needs a value` : `${option} takes no value`;
  }
  if (error.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
    return `unexpected argument ${/'([^']*)'/.exec(error.message)?.[1] ?? ""}`.trim();
  return error.message;
}

/** node:util parseArgs, with its errors turned into UsageErrors. */
export function parseCommandArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(usageMessage(error as Error & { code?: string }, config));
  }
}

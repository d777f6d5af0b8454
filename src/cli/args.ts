import { parseArgs, type ParseArgsConfig } from "node:util";

/** A command-line mistake: printed as one line with a pointer to --help, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The first value of a comma-separated setting (SOURCE_TOKEN=old,new → old), if any. */
export function firstOf(list: string | undefined): string | undefined {
  return list
    ?.split(",")
    .map((item) => item.trim())
    .find((item) => item !== "");
}

/** node:util parseArgs, with its errors turned into UsageErrors. */
export function parseCommandArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

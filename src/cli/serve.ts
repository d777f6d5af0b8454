import { CONFIG_VARIABLES, loadConfig, loadDotEnv, secretsToRedact } from "../configuration.js";
import { lookalikeVariables } from "../support/lookalike-variables.js";
import { startDaemon } from "../daemon.js";
import { createLogger } from "../support/logger.js";
import { rateLimitedLog } from "../support/rate-limited-log.js";
import { builtinSinks } from "../sinks/index.js";
import { parseCommandArgs } from "./args.js";
import { errorMessage } from "../support/error-message.js";

const SERVE_HELP = `Usage: gitlab-webhooks serve [--env-file FILE]

Runs the daemon: POST /hooks ingest, GET /sse/ feed, GET /healthz, the dashboard at /, and the
enabled sinks. Configuration comes from the environment and from .env when present (the
environment wins); config/example.env lists every variable, README.md says what each does.

Options:
  --env-file FILE   read this file instead of .env
  -h, --help        show this help

Variables you set first:
  PORT, HOST        where to listen (default 8000 on 0.0.0.0)
  SINKS_ENABLED     sinks to run (default sse,log): log, sse, phabricator, gitlab-mentions,
                    inventory, or a path to a plugin module
  SOURCE_TOKEN      X-Gitlab-Token values GitLab sends (comma-separated); without any token the
                    daemon makes one up and copies it to data/source-token
  DATABASE_PATH     the SQLite store (default data/gitlab-webhooks.sqlite), or
  DATABASE_URL      postgres://… or mysql://… for a server database
  ADMIN_TOKEN       bearer tokens for the admin API and the dashboard (off without one)

Example:
  PORT=8080 SOURCE_TOKEN=change-me ADMIN_TOKEN=also-change-me gitlab-webhooks serve
`;

/** sysexits' EX_SOFTWARE: the daemon stopped itself because a part of it failed. */
const EXIT_SOFTWARE = 70;

export async function serve(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs({
    args: argv,
    options: { "env-file": { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return;
  }
  loadDotEnv(values["env-file"] ?? ".env");
  const config = loadConfig();
  const logger = createLogger({
    debug: config.DEBUG,
    json: config.NODE_ENV === "production",
    secrets: secretsToRedact(config),
  });
  for (const { given, expected } of lookalikeVariables(process.env, CONFIG_VARIABLES)) {
    logger.warn(`${given} is set, but the daemon reads ${expected}: rename it, or ${given} has no effect`);
  }
  // The daemon may find it cannot go on before it is even up: it is stopped as soon as it is.
  const failure: { report?: (error: Error) => void } = {};
  const failed = new Promise<Error>((resolve) => (failure.report = resolve));
  const daemon = await startDaemon({ config, logger, builtins: builtinSinks, onFatal: (error) => failure.report?.(error) });

  let stopping = false;
  const stop = (why: string, code = 0) => {
    // A second reason to stop (SIGTERM while the store fails, or the other way round) changes nothing.
    if (stopping) return;
    stopping = true;
    logger.info(`${why}; stopping`);
    daemon.close().then(
      () => process.exit(code),
      (error: unknown) => {
        logger.error("shutdown failed", { error: errorMessage(error) });
        process.exit(1);
      },
    );
  };
  // What is acknowledged is stored, and claims lapse: a new process (its supervisor's) picks everything up.
  void failed.then(() => stop("the daemon cannot go on", EXIT_SOFTWARE));
  // A promise nobody awaited must not take the daemon down with every event it holds; it is a bug, so it is logged as one.
  process.on("unhandledRejection", (reason: unknown) =>
    logger.error("unhandled rejection (a bug: please report it)", { error: errorMessage(reason) }),
  );
  // Past a file size limit a write fails with EFBIG (and is retried) instead of the signal killing the daemon.
  const fileLimit = rateLimitedLog(logger, "warn");
  process.on("SIGXFSZ", () => fileLimit("a file reached the process's file size limit (ulimit -f); its write fails and is retried"));
  process.once("SIGTERM", () => stop("SIGTERM received"));
  process.once("SIGINT", () => stop("SIGINT received"));
  process.on("SIGHUP", () => void daemon.reopen().catch((error: unknown) => logger.error("reopen failed", { error: errorMessage(error) })));
}

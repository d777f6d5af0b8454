#!/usr/bin/env node
import { ConfigError } from "../config/settings.js";
import { VERSION } from "../support/version.js";
import { didYouMean } from "../support/lookalike-variables.js";
import { UsageError } from "./args.js";
import { forward } from "./forward.js";
import { hooks } from "./hooks.js";
import { send } from "./send.js";
import { serve } from "./serve.js";
import { tail } from "./tail.js";
import { errorMessage } from "../support/error-message.js";

const HELP = `Usage: gitlab-webhooks [COMMAND] [options]

Routes GitLab webhooks to Phabricator, GitLab mentions, a Server-Sent Events feed, an event log
and a project inventory.

Commands:
  serve     run the daemon (the default)
  send      post GitLab-shaped JSON files to a running daemon
  tail      follow a daemon's event feed, one line per event
  forward   post a daemon's events to a local bot as GitLab sends them (behind NAT, on a laptop)
  hooks     add, list, remove, status or recover this daemon's webhooks in GitLab

Run "gitlab-webhooks COMMAND --help" for a command's options and the variables it reads.

Example:
  npx gitlab-webhooks tail           # in another terminal than the daemon
`;

type Command = (argv: string[]) => Promise<number | void>;

const COMMANDS: Record<string, Command> = { serve, send, tail, forward, hooks };

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (first === "--version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const named = first !== undefined && !first.startsWith("-");
  const name = named ? first : "serve";
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}`);
  try {
    return (await command(named ? rest : argv)) ?? 0;
  } catch (error) {
    // The pointer to --help names the command whose help answers the mistake.
    if (error instanceof UsageError) error.command ??= name;
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // serve keeps running on its server; every other command ends here.
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      const command = error.command === undefined ? "gitlab-webhooks" : `gitlab-webhooks ${error.command}`;
      process.stderr.write(`${command}: ${error.message} (see ${command} --help)\n`);
      process.exit(2);
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`gitlab-webhooks: configuration error: ${error.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`gitlab-webhooks: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);

import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./repo-root.js";

export const CLI = join(REPO_ROOT, "dist/cli/index.js");

export interface SpawnedDaemon {
  child: ChildProcess;
  url: string;
  /** Everything the process printed so far, stdout and stderr. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the compiled CLI (`npm test` builds it first) with only the given environment; `wrapper`
 * runs it under another command (prlimit, to set a resource limit).
 */
export function runCli(args: string[], env: Record<string, string>, cwd?: string, wrapper: string[] = []) {
  const [command, ...prefix] = [...wrapper, process.execPath];
  const child = spawn(command as string, [...prefix, CLI, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/** Starts `gitlab-webhooks serve` on a free port and waits until it listens. */
export async function spawnDaemon(env: Record<string, string>, cwd?: string, wrapper: string[] = []): Promise<SpawnedDaemon> {
  const run = runCli(["serve"], { PORT: "0", HOST: "127.0.0.1", ...env }, cwd, wrapper);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const match = /listening on [\d.]+:(\d+)/.exec(run.output());
    if (match) return { ...run, url: `http://127.0.0.1:${match[1]}` };
    if (run.child.exitCode !== null || Date.now() > deadline) {
      run.child.kill("SIGKILL");
      throw new Error(`daemon did not start:\n${run.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

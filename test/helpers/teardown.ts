import type { ChildProcess } from "node:child_process";
import { onTestFinished } from "vitest";

/** What a test opens and must close again: an in-process daemon, a fake server, a store. */
export interface Closable {
  close(): unknown;
}

/**
 * Closes `resource` when the running test finishes, passed or failed, and gives it back: a test
 * closes what it opens where it opens it, and nothing leaks into the next test. Vitest runs these in
 * reverse order of registration, so the last opened closes first (a daemon before the fake server it
 * talks to), and runs every one even when another fails.
 */
export function closeAfterTest<T extends Closable>(resource: T): T {
  onTestFinished(async () => {
    await resource.close();
  });
  return resource;
}

/** A child process a test started: a spawned daemon, a CLI run. */
export interface Running {
  child: ChildProcess;
  exited: Promise<unknown>;
}

/**
 * Kills `run` when the running test finishes, unless it has exited already, and waits until it has:
 * no process outlives its test. SIGKILL by default, as after a crash; SIGTERM to let it stop cleanly.
 */
export function killAfterTest<T extends Running>(run: T, signal: NodeJS.Signals = "SIGKILL"): T {
  onTestFinished(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill(signal);
    await run.exited;
  });
  return run;
}

import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { spawnDaemon } from "../harness/spawn-daemon.js";
import { tempDir } from "../harness/temp-dir.js";

/** One process of a daemon: from its start to its exit. */
export interface Incarnation {
  pid: number;
  startedAt: number;
  /** When it exited (or was killed), or null while it runs. */
  endedAt: number | null;
  /** What the harness did to end it; an exit without one is a crash. */
  endedBy: "SIGKILL" | "SIGTERM" | null;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  output: () => string;
}

/**
 * A daemon the harness can kill, restart and freeze: the compiled CLI on a port of its own, kept
 * across restarts so that its feed subscriber and the load find it again.
 */
export class ChaosDaemon {
  readonly incarnations: Incarnation[] = [];
  /** Times a process was stopped with SIGSTOP. */
  readonly frozen: { pid: number; from: number; to: number }[] = [];
  private child: ChildProcess | null = null;
  private readonly cwd = tempDir("glw-chaos-daemon-");

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /**
   * Starts a process, and starts it again, as a supervisor would, while it does not listen (the
   * daemon exits when it cannot reach its database at start; a loaded machine is slow) for up to `forMs`.
   */
  async start(forMs = 120_000): Promise<void> {
    const deadline = Date.now() + forMs;
    for (;;) {
      try {
        return this.launch(await spawnDaemon({ ...this.env, PORT: String(this.port), REPLICA_NAME: this.name }, this.cwd));
      } catch (error) {
        if (Date.now() > deadline) throw error;
        this.failedStarts++;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** Starts that did not come to listen, and were tried again. */
  failedStarts = 0;

  private launch(spawned: Awaited<ReturnType<typeof spawnDaemon>>): void {
    const incarnation: Incarnation = {
      pid: spawned.child.pid as number,
      startedAt: Date.now(),
      endedAt: null,
      endedBy: null,
      exit: null,
      output: spawned.output,
    };
    this.incarnations.push(incarnation);
    this.child = spawned.child;
    void spawned.exited.then((exit) => {
      incarnation.exit = exit;
      incarnation.endedAt ??= Date.now();
    });
  }

  /** kill -9: no shutdown at all; whatever it held is left to lapse. */
  async kill(): Promise<void> {
    await this.end("SIGKILL");
  }

  /** SIGTERM, as at the end of the run; SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.end("SIGTERM");
    clearTimeout(timer);
  }

  private async end(signal: "SIGKILL" | "SIGTERM"): Promise<void> {
    const child = this.child;
    const incarnation = this.incarnations.at(-1);
    if (!child || !incarnation || incarnation.exit) return;
    this.child = null;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    incarnation.endedBy = signal;
    if (signal === "SIGKILL") incarnation.endedAt = Date.now();
    // A frozen process gets SIGTERM only once thawed.
    if (signal === "SIGTERM") child.kill("SIGCONT");
    child.kill(signal);
    await exited;
  }

  /** SIGSTOP for `ms`, then SIGCONT: a paused VM, a stalled host, as the other daemons see it. */
  async freeze(ms: number): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const from = Date.now();
    child.kill("SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, ms));
    child.kill("SIGCONT");
    this.frozen.push({ pid: child.pid, from, to: Date.now() });
  }

  /** Removes its working directory, once it has stopped. */
  cleanup(): void {
    rmSync(this.cwd, { recursive: true, force: true });
  }

  /** Everything every process of this daemon printed. */
  log(): string {
    return this.incarnations.map((incarnation) => incarnation.output()).join("\n");
  }
}

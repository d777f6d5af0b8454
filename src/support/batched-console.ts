import TransportStream from "winston-transport";

const LEVEL = Symbol.for("level");
const MESSAGE = Symbol.for("message");

type StreamName = "stdout" | "stderr";

/** Every batched console of this process, flushed when it exits. */
const live = new Set<BatchedConsole>();
let flushAtExit = false;

/**
 * The console, informational lines one turn of the event loop at a time: the lines logged in a
 * turn leave at its end, each run of lines for one stream in one write, in the order they were
 * logged. A warning or an error is written at once, after whatever waits before it: a daemon that
 * then hangs, is killed or dies of a fatal error (which skips the process's exit event) has said
 * why. Informational lines still pending then are lost; at an exit, an uncaught error or a signal
 * that ends the process through it, they are written. A write to a file or a pipe blocks on
 * Linux, and winston's Console transport makes one per line: under full ingest, with a `received
 * event` line per request, that was about 45 µs of the main thread's time per request.
 */
export class BatchedConsole extends TransportStream {
  private readonly pending: { stream: StreamName; line: string }[] = [];
  private scheduled = false;

  constructor(private readonly stderrLevels: ReadonlySet<string>) {
    super();
    live.add(this);
    if (!flushAtExit) {
      flushAtExit = true;
      process.once("exit", () => {
        for (const transport of live) transport.flush();
      });
    }
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    const stream = this.stderrLevels.has(String(info[LEVEL])) ? "stderr" : "stdout";
    this.pending.push({ stream, line: `${String(info[MESSAGE])}\n` });
    if (stream === "stderr") this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    callback();
  }

  override close(): void {
    this.flush();
    live.delete(this);
  }

  private flush(): void {
    this.scheduled = false;
    // Consecutive lines for one stream leave in one write.
    let run: { stream: StreamName; text: string } | undefined;
    for (const { stream, line } of this.pending.splice(0)) {
      if (run?.stream === stream) run.text += line;
      else {
        if (run) process[run.stream].write(run.text);
        run = { stream, text: line };
      }
    }
    if (run) process[run.stream].write(run.text);
  }
}

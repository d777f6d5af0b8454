import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";

const LUA = fileURLToPath(new URL("../../bench/wrk-hooks.lua", import.meta.url));

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  total: number;
}

export interface Load {
  url: string;
  bodyFile: string;
  body: string;
  event: string;
  token: string;
  seconds: number;
  connections: number;
  threads: number;
  /** Requests per second in all (on a schedule), or undefined for as fast as the server answers. */
  rate?: number;
}

/** `wrk --version` when wrk is installed (Debian's package), else null. */
export function wrkVersion(): string | null {
  const run = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  if (run.error) return null;
  return /wrk [\d.]+/.exec(`${run.stdout}${run.stderr}`)?.[0] ?? "wrk";
}

/**
 * wrk: a C load generator that is not the bottleneck of a Node server. A fresh Idempotency-Key
 * every request; with a rate, requests are sent on a schedule, whatever the answers' latency.
 */
export function runWrk(load: Load): Promise<LoadResult> {
  const ratePerThread = load.rate ? load.rate / load.threads : 0;
  const args = [
    `-t${load.threads}`,
    `-c${load.connections}`,
    `-d${load.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    LUA,
    load.url,
    "--",
    load.bodyFile,
    load.token,
    load.event,
    String(ratePerThread),
    randomUUID().slice(0, 8),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("exit", () => {
      const line = out.split("\n").find((text) => text.startsWith("{"));
      if (!line) return reject(new Error(`wrk printed no result:\n${out}`));
      const r = JSON.parse(line) as {
        requests: number;
        durationUs: number;
        errors: number;
        non2xx: number;
        p50Us: number;
        p99Us: number;
        maxUs: number;
      };
      resolve({
        requestsPerSecond: r.requests / (r.durationUs / 1e6),
        p50Ms: r.p50Us / 1000,
        p99Ms: r.p99Us / 1000,
        maxMs: r.maxUs / 1000,
        errors: r.errors + r.non2xx,
        total: r.requests,
      });
    });
  });
}

/** autocannon, where wrk is absent: a Node load generator, itself the limit against a bare server. */
export async function runAutocannon(load: Load): Promise<LoadResult> {
  const { default: autocannon } = await import("autocannon");
  let n = 0;
  const nonce = randomUUID().slice(0, 8);
  const request = {
    method: "POST",
    path: "/hooks",
    headers: { "content-type": "application/json", "x-gitlab-event": load.event, "x-gitlab-token": load.token },
    body: load.body,
    setupRequest: (req: { headers: Record<string, string> }) => ({
      ...req,
      headers: { ...req.headers, "idempotency-key": `ac-${nonce}-${++n}` },
    }),
  };
  const result = await new Promise<Parameters<Parameters<typeof autocannon>[1]>[1]>((resolve, reject) =>
    autocannon(
      {
        url: load.url,
        requests: [request],
        connections: load.connections,
        duration: load.seconds,
        ...(load.rate ? { overallRate: load.rate } : {}),
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    ),
  );
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    errors: result.errors + result.timeouts + result.non2xx,
    total: result.requests.total,
  };
}

// npm run chaos: tries to break the daemon's promises (issue #20) with faults on a seeded schedule,
// on several daemons per server engine and one on SQLite; prints the report and writes
// chaos/results.json. Exit status 1 when an invariant fails.
// Options: --minutes 10 --engines postgres,mariadb,sqlite --seed 42 --daemons 3 --rate 20
//          --faults kill,freeze,terminate,db-restart,partition --quiet-bound 120
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { selectEngines } from "../harness/engine-names.js";
import { REPO_ROOT } from "../harness/repo-root.js";
import { FAULT_KINDS, type FaultKind } from "./faults.js";
import { formatReport, runChaos, type EngineReport } from "./scenario.js";

const { values: opts } = parseArgs({
  options: {
    minutes: { type: "string", default: "2" },
    engines: { type: "string", default: "postgres,mariadb,sqlite" },
    seed: { type: "string", default: String(Date.now() % 100_000) },
    daemons: { type: "string", default: "3" },
    rate: { type: "string", default: "20" },
    faults: { type: "string", default: FAULT_KINDS.join(",") },
    "quiet-bound": { type: "string", default: "120" },
  },
});
const faults = (opts.faults ?? "").split(",").filter((kind) => kind !== "");
const unknown = faults.find((kind) => !(FAULT_KINDS as readonly string[]).includes(kind));
if (unknown !== undefined) {
  process.stderr.write(`--faults names "${unknown}": the faults are ${FAULT_KINDS.join(", ")}\n`);
  process.exit(2);
}
const seed = Number(opts.seed);
const engines = selectEngines(opts.engines ?? "");
process.stderr.write(`chaos on ${cpus().length} cores, Node ${process.version}, seed ${seed} (run again with --seed ${seed})\n`);

const reports: EngineReport[] = [];
const aborted: string[] = [];
for (const engine of engines) {
  try {
    reports.push(
      await runChaos({
        engine,
        seconds: Math.round(Number(opts.minutes) * 60),
        seed,
        faults: faults as FaultKind[],
        daemons: Number(opts.daemons),
        rate: Number(opts.rate),
        projects: 8,
        leaseSeconds: 2,
        quietBoundSeconds: Number(opts["quiet-bound"]),
        // A frozen lock holder's session is ended after 5 s (idle_in_transaction_session_timeout,
        // MariaDB's wait_timeout); the others may be silent that long, and a little more on a loaded machine.
        stallBoundSeconds: 8,
        sink: { failRate: 0.1, slowRate: 0.05, slowMs: 3000 },
        say: (line) => process.stderr.write(`${line}\n`),
      }),
    );
  } catch (error) {
    // The harness itself failed (a daemon that would not start again): the run proves nothing.
    process.stderr.write(`${engine}: the run stopped: ${error instanceof Error ? error.message : String(error)}\n`);
    aborted.push(`${engine}: the run stopped (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`);
  }
}
writeFileSync(
  join(REPO_ROOT, "chaos/results.json"),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: cpus().length, reports }, null, 2)}\n`,
);
console.log("");
for (const report of reports) console.log(formatReport(report).join("\n"));
const failed = [
  ...aborted,
  ...reports.flatMap((report) =>
    report.invariants.filter((invariant) => invariant.count > 0).map((invariant) => `${report.engine}: ${invariant.name}`),
  ),
];
console.log(
  `\n${failed.length === 0 ? "every invariant held" : `${failed.length} invariant(s) broken: ${failed.join("; ")}`}; written to chaos/results.json`,
);
process.exit(failed.length === 0 ? 0 : 1);

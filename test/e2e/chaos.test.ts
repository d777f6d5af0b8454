import { beforeAll, describe, expect, it } from "vitest";
import type { PlannedFault } from "../../chaos/faults.js";
import { INVARIANTS } from "../../chaos/invariants.js";
import { formatReport, runChaos, type EngineReport } from "../../chaos/scenario.js";
import type { EngineName } from "../../harness/engine-names.js";

const fault = (at: number, kind: PlannedFault["kind"], daemon: number, ms: number, count = 0): PlannedFault => ({
  at,
  kind,
  daemon,
  ms,
  count,
  delayMs: 0,
  delayForMs: 0,
});

/**
 * The short fault-injection run (npm run chaos is the long one): the milder faults (kill -9 and
 * restart, SIGSTOP past the lease, terminated sessions, a sink that fails and slows), on a fixed
 * plan, against the compiled daemon. Bounds are generous, so that on a loaded machine each promise
 * is kept or broken, not late.
 */
const RUNS: { engine: EngineName; daemons: number; seconds: number; plan: PlannedFault[] }[] = [
  { engine: "sqlite", daemons: 1, seconds: 12, plan: [fault(2000, "kill", 0, 500), fault(5000, "freeze", 0, 5000)] },
  {
    engine: "postgres",
    daemons: 3,
    seconds: 18,
    plan: [
      fault(2000, "terminate", 0, 0, 3),
      fault(4000, "kill", 1, 1000),
      fault(7000, "freeze", 2, 5000),
      fault(14_000, "terminate", 0, 0, 4),
    ],
  },
];

describe("promises under faults: a short fault-injection run", () => {
  const reports = new Map<EngineName, EngineReport>();

  beforeAll(async () => {
    const done = await Promise.all(
      RUNS.map((run) =>
        runChaos({
          ...run,
          seed: 20,
          faults: [],
          rate: 10,
          projects: 4,
          leaseSeconds: 2,
          quietBoundSeconds: 90,
          // A frozen lock holder's session is ended after 5 s (idle_in_transaction_session_timeout).
          stallBoundSeconds: 8,
          sink: { failRate: 0.1, slowRate: 0.05, slowMs: 3000 },
          say: () => {},
        }),
      ),
    );
    for (const report of done) {
      console.log(formatReport(report).join("\n"));
      reports.set(report.engine, report);
    }
  }, 400_000);

  describe.each(RUNS.map((run) => run.engine))("%s", (engine) => {
    for (const id of INVARIANTS) {
      it(id, () => {
        const invariant = reports.get(engine)?.invariants.find((each) => each.id === id);
        expect(invariant, `${engine} has no report of ${id}`).toBeDefined();
        expect(invariant?.count, `${invariant?.name}: ${invariant?.detail}`).toBe(0);
      });
    }
  });
});

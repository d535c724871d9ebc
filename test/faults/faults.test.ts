// CI's short run of the fault suite (faults/run.mts, `npm run faults -- --short`): each fault once,
// against the stack as deployed on loopback (four erasure-coded MinIO processes, a cold tier, the
// program through the engine, the API from its bundle as its own user). The full run writes
// RELIABILITY.md; this one holds every fault to the same rules.
import { describe, expect, it } from "vitest";
import { runFaults } from "../../faults/run.mts";
import { FAULTS } from "../../faults/scenarios.mts";

describe("fault suite, short run", () => {
  it("no fault loses an acknowledged write, hangs a request, or answers outside the contract", async () => {
    const report = await runFaults({ short: true, log: (m) => console.log(m) });
    expect(report.runs.map((r) => r.fault.name)).toEqual(FAULTS.map((f) => f.name));
    for (const run of report.runs) {
      expect(run.verdict.lost, run.fault.name).toEqual([]);
      expect(run.problems, run.fault.name).toEqual([]);
      expect(run.verdict.acknowledged, run.fault.name).toBeGreaterThan(0);
    }
    const run = (name: string) => report.runs.find((r) => r.fault.name === name);
    // What erasure coding promises: writes go on with one node of four down...
    const oneDown = run("node-kill")?.verdict.writesDuring;
    expect(oneDown?.ok).toBeGreaterThan(0);
    // ...and with the whole hot MinIO down, writes are refused with 503, never acknowledged.
    expect(run("hot-stopped")?.verdict.refused).toBeGreaterThan(0);
  }, 900_000);
});

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEphemeralStack, type EphemeralStack, externalTargetConfig } from "../helpers/engine";
import { readAll, startTestMinio, type TestMinio } from "../helpers/minio";

const root = join(__dirname, "..", "..");

// A stack that is not ephemeral (every real one): destroy keeps the buckets and what they hold,
// through the real engine, not only in mocks.
describe("the program, external target, not ephemeral: destroy keeps the data, the next up takes it back", () => {
  let minio: TestMinio;
  let eph: EphemeralStack;

  beforeAll(async () => {
    minio = await startTestMinio();
    eph = await createEphemeralStack(root, externalTargetConfig(minio));
  });
  afterAll(async () => {
    await eph?.dispose();
    await minio?.stop();
  });

  it("goes up, holds an object, and destroy leaves both buckets and the object in place", async () => {
    expect((await eph.stack.up()).summary.result).toBe("succeeded");
    const hot = minio.client("hot");
    await hot.putObject("workflow-artifacts", "executions/kept/result.json", Buffer.from('{"kept":true}'));

    const destroyed = await eph.stack.destroy();
    expect(destroyed.summary.result).toBe("succeeded");
    for (const bucket of ["user-uploads", "workflow-artifacts"]) expect(await hot.bucketExists(bucket)).toBe(true);
    expect(await minio.client("cold").bucketExists("cold-tier")).toBe(true);
    const kept = await readAll(await hot.getObject("workflow-artifacts", "executions/kept/result.json"));
    expect(kept.toString()).toBe('{"kept":true}');
    // The stack no longer tracks them.
    expect(Object.keys(await eph.stack.outputs())).toEqual([]);
  });

  it("the next up takes the retained buckets back as its own (their ownership tag), data kept", async () => {
    const up = await eph.stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.summary.resourceChanges?.create).toBeGreaterThan(0);
    const kept = await readAll(
      await minio.client("hot").getObject("workflow-artifacts", "executions/kept/result.json"),
    );
    expect(kept.toString()).toBe('{"kept":true}');
    expect((await eph.stack.preview()).changeSummary).not.toHaveProperty("create");
  });
});

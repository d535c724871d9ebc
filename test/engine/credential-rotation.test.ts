import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EphemeralStack, type ProgramOnMinio, startProgramOnTestMinio } from "../helpers/engine";
import type { TestMinio } from "../helpers/minio";

// What an operator does when MinIO's root passwords change (README, Operations): restart MinIO with
// the new ones, set them in the stack, `pulumi up`; refresh, preview and destroy then work. Real
// servers, the real engine.
describe("rotating the MinIO root credentials of a deployed stack", () => {
  let program: ProgramOnMinio;
  let minio: TestMinio;
  let eph: EphemeralStack;

  beforeAll(async () => {
    program = await startProgramOnTestMinio();
    ({ minio, eph } = program);
    expect((await eph.stack.up()).summary.result).toBe("succeeded");
  });
  afterAll(async () => program?.stop());

  it("after the servers restart with new passwords, a refresh from the old state says what to do", async () => {
    const rotated = await minio.rotateRootSecrets(["hot", "cold"]);
    await eph.stack.setAllConfig({
      "workflow-studio-storage:hotSecretKey": { value: rotated.hot as string, secret: true },
      "workflow-studio-storage:coldSecretKey": { value: rotated.cold as string, secret: true },
    });
    const failed = await eph.stack.refresh().then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(failed).toContain(
      `MinIO at ${minio.server("hot").endpoint} refused the credentials this stack's state holds (SignatureDoesNotMatch)`,
    );
    expect(failed).toContain("run `pulumi up` (without --refresh) first");
    // Neither the old nor the new secret shows in what the engine printed.
    for (const secret of Object.values(rotated)) expect(failed).not.toContain(secret);
  });

  it("up records the new connection: updates in place, nothing replaced", async () => {
    const preview = await eph.stack.preview();
    expect(preview.changeSummary).not.toHaveProperty("replace");
    expect(preview.changeSummary).not.toHaveProperty("create");
    const up = await eph.stack.up();
    expect(up.summary.result).toBe("succeeded");
    const changes = up.summary.resourceChanges ?? {};
    // Every MinIO resource holds a connection: buckets (3), users (2), tier, lifecycles (2).
    expect(changes.update).toBe(8);
    expect(Object.keys(changes).sort()).toEqual(["same", "update"]);
  });

  it("then refresh finds everything as it is, a preview shows no changes, and the new secrets are not in state", async () => {
    const refresh = await eph.stack.refresh();
    expect(refresh.summary.result).toBe("succeeded");
    expect(Object.keys(refresh.summary.resourceChanges ?? {})).toEqual(["same"]);
    expect((await eph.stack.preview()).changeSummary).toEqual({ same: expect.any(Number) });
    const state = eph.backendText();
    expect(state).not.toContain(minio.server("hot").secretKey);
    expect(state).not.toContain(minio.server("cold").secretKey);
  });

  it("and destroy, with the new credentials, removes everything", async () => {
    expect((await eph.stack.destroy()).summary.result).toBe("succeeded");
    for (const bucket of ["user-uploads", "workflow-artifacts"]) {
      expect(await minio.client("hot").bucketExists(bucket)).toBe(false);
    }
    expect(await minio.client("cold").bucketExists("cold-tier")).toBe(false);
  });
});

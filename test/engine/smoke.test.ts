import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEphemeralStack, type EphemeralStack } from "../helpers/engine";
import { startTestMinio, type TestMinio } from "../helpers/minio";

// The smallest real program through the real CLI, our language host and the dynamic-provider plugin:
// proves the toolchain before the project's own program relies on it.
describe("the real Pulumi engine runs a TypeScript program against a real MinIO", () => {
  let minio: TestMinio;
  let eph: EphemeralStack;
  const bucket = "engine-smoke";

  beforeAll(async () => {
    minio = await startTestMinio();
    const hot = minio.server("hot");
    eph = await createEphemeralStack(join(__dirname, "fixtures", "smoke"), {
      "wss-smoke:endpoint": { value: hot.endpoint },
      "wss-smoke:accessKey": { value: hot.accessKey },
      "wss-smoke:secretKey": { value: hot.secretKey, secret: true },
      "wss-smoke:bucket": { value: bucket },
    });
  });
  afterAll(async () => {
    await eph?.dispose();
    await minio?.stop();
  });

  it("goes up: the bucket exists and the generated secret is a secret output", async () => {
    const up = await eph.stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.summary.resourceChanges).toEqual({ create: 3 });
    expect(up.outputs.bucketName).toEqual({ value: bucket, secret: false });
    expect(up.outputs.generated?.secret).toBe(true);
    expect(String(up.outputs.generated?.value)).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await minio.client("hot").bucketExists(bucket)).toBe(true);
  });

  it("keeps secrets out of the state file in clear", async () => {
    const outputs = await eph.stack.outputs();
    const state = eph.backendText();
    expect(state).not.toContain(String(outputs.generated?.value));
    expect(state).not.toContain(minio.server("hot").secretKey);
  });

  it("a second preview shows no changes", async () => {
    const preview = await eph.stack.preview();
    expect(preview.changeSummary).toEqual({ same: 3 });
  });

  it("destroy removes the bucket", async () => {
    const destroyed = await eph.stack.destroy();
    expect(destroyed.summary.result).toBe("succeeded");
    expect(await minio.client("hot").bucketExists(bucket)).toBe(false);
  });
});

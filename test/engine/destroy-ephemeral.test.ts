import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cannedPolicy, listTiers } from "../../components/providers/minio-admin";
import { type EphemeralStack, type ProgramOnMinio, startProgramOnTestMinio } from "../helpers/engine";
import type { TestMinio } from "../helpers/minio";
import { waitFor } from "../helpers/wait";

/** Names of the objects a bucket lists (current versions only). */
async function listNames(minio: TestMinio, server: string, bucket: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of minio.client(server).listObjects(bucket, "", true)) if (item.name) names.push(item.name);
  return names;
}

// An ephemeral stack is destroyed whatever its objects have gone through: moved to the cold tier,
// overwritten and deleted in a versioned bucket, uploads left incomplete. Real servers, a real
// transition, the real engine.
describe("destroy of an ephemeral stack whose objects moved to the cold tier", () => {
  let program: ProgramOnMinio;
  let minio: TestMinio;
  let eph: EphemeralStack;

  beforeAll(async () => {
    program = await startProgramOnTestMinio(
      {
        "workflow-studio-storage:bucketVersioning": { value: "true" },
        "workflow-studio-storage:transitionDays": { value: "0" },
        "workflow-studio-storage:transitionMinSizeBytes": { value: "1024" },
      },
      // The scanner applies the 0-day transition within seconds at this speed.
      { serverEnv: { MINIO_SCANNER_SPEED: "fastest" } },
    );
    ({ minio, eph } = program);
    expect((await eph.stack.up()).summary.result).toBe("succeeded");
  });
  afterAll(async () => program?.stop());

  it("holds transitioned objects, noncurrent versions, delete markers and an incomplete upload", async () => {
    const hot = minio.client("hot");
    const big = randomBytes(3 * 1024 * 1024);
    await hot.putObject("workflow-artifacts", "executions/tr/big.bin", big);
    await hot.putObject("user-uploads", "uploads/big.bin", big);
    await waitFor("both large objects to reach the cold bucket", async () =>
      (await listNames(minio, "cold", "cold-tier")).length >= 2 ? true : undefined,
    );
    // A deleted transitioned object, an overwritten and deleted small one: versions and markers.
    await hot.removeObject("user-uploads", "uploads/big.bin");
    await hot.putObject("user-uploads", "uploads/a.txt", Buffer.from("one"));
    await hot.putObject("user-uploads", "uploads/a.txt", Buffer.from("two"));
    await hot.removeObject("user-uploads", "uploads/a.txt");
    await hot.initiateNewMultipartUpload("workflow-artifacts", "executions/left/part.bin", {});
  });

  it("destroy removes the buckets, the tier and its remote data, and the users", async () => {
    const destroyed = await eph.stack.destroy();
    expect(destroyed.summary.result).toBe("succeeded");
    const hot = minio.client("hot");
    for (const bucket of ["user-uploads", "workflow-artifacts"]) expect(await hot.bucketExists(bucket)).toBe(false);
    expect(await minio.client("cold").bucketExists("cold-tier")).toBe(false);
    expect(await listTiers(minio.connection("hot"))).toEqual([]);
    expect(await cannedPolicy(minio.connection("hot"), "upload-api")).toBeUndefined();
    expect(await cannedPolicy(minio.connection("cold"), "tier-cold-tier")).toBeUndefined();
  });
});

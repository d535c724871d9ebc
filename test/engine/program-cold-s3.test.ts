import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tierUserPolicy } from "../../components/cold-tier";
import { listTiers } from "../../components/providers/minio-admin";
import { applyScopedUser } from "../../components/providers/scoped-user";
import { createEphemeralStack, type EphemeralStack } from "../helpers/engine";
import { startTestMinio, type TestMinio } from "../helpers/minio";
import { waitFor } from "../helpers/wait";

const root = join(__dirname, "..", "..");
/** Keys scoped to the cold bucket, as a team would be given for an S3 bucket it does not administer. */
const scoped = { accessKey: "archive-writer", secretKey: "archive-writer-secret-0123456789" };

// coldKind s3: the cold tier is an S3 endpoint the stack is given, not a MinIO it administers. The
// cold MinIO stands in for it as a plain S3 endpoint: the program creates nothing there.
describe("the program, external target, with an S3 endpoint as the cold tier", () => {
  let minio: TestMinio;
  let eph: EphemeralStack;

  beforeAll(async () => {
    // The scanner applies a 0-day transition within seconds at this speed.
    minio = await startTestMinio({ serverEnv: { MINIO_SCANNER_SPEED: "fastest" } });
    const cold = minio.connection("cold");
    await minio.client("cold").makeBucket("archive");
    await applyScopedUser(cold, { ...scoped, policyName: scoped.accessKey, policy: tierUserPolicy("archive") });
    const hot = minio.server("hot");
    eph = await createEphemeralStack(root, {
      "workflow-studio-storage:target": { value: "external" },
      "workflow-studio-storage:hotEndpoint": { value: hot.endpoint },
      "workflow-studio-storage:hotAccessKey": { value: hot.accessKey },
      "workflow-studio-storage:hotSecretKey": { value: hot.secretKey, secret: true },
      "workflow-studio-storage:coldKind": { value: "s3" },
      "workflow-studio-storage:coldEndpoint": { value: cold.endpoint },
      "workflow-studio-storage:coldBucket": { value: "archive" },
      "workflow-studio-storage:coldAccessKey": { value: scoped.accessKey },
      "workflow-studio-storage:coldSecretKey": { value: scoped.secretKey, secret: true },
      "workflow-studio-storage:ephemeral": { value: "true" },
      "workflow-studio-storage:transitionDays": { value: "0" },
      "workflow-studio-storage:transitionMinSizeBytes": { value: "1024" },
    });
  });
  afterAll(async () => {
    await eph?.dispose();
    await minio?.stop();
  });

  it("registers an s3-type tier with the given bucket and keys, and creates nothing on the cold side", async () => {
    const up = await eph.stack.up();
    expect(up.summary.result).toBe("succeeded");
    const tiers = await listTiers(minio.connection("hot"));
    expect(tiers).toEqual([
      expect.objectContaining({ name: "COLD", type: "s3", bucket: "archive", accessKey: scoped.accessKey }),
    ]);
    // Only what the team was given: no bucket or user of ours on the cold side.
    expect((await minio.client("cold").listBuckets()).map((b) => b.name)).toEqual(["archive"]);
    for (const bucket of ["user-uploads", "workflow-artifacts"]) {
      const rules = [(await minio.client("hot").getBucketLifecycle(bucket))?.Rule].flat();
      expect(JSON.stringify(rules)).toContain('"StorageClass":"COLD"');
    }
  });

  it("a second preview shows no changes", async () => {
    expect(Object.keys((await eph.stack.preview()).changeSummary)).toEqual(["same"]);
  });

  it("destroy after a real transition removes the tier and leaves nothing of ours in the given bucket", async () => {
    await minio.client("hot").putObject("workflow-artifacts", "executions/tr/big.bin", randomBytes(3 * 1024 * 1024));
    await waitFor("the object's copy in the given bucket", async () =>
      (await archived()).length === 1 ? true : undefined,
    );
    expect((await eph.stack.destroy()).summary.result).toBe("succeeded");
    expect(await listTiers(minio.connection("hot"))).toEqual([]);
    // MinIO deleted the copy while the tier still existed (the tier goes after the buckets), and the
    // bucket we were given is still there.
    expect(await archived()).toEqual([]);
    expect(await minio.client("cold").bucketExists("archive")).toBe(true);
  });

  /** What the given bucket holds. */
  async function archived(): Promise<string[]> {
    const names: string[] = [];
    for await (const o of minio.client("cold").listObjects("archive", "", true)) if (o.name) names.push(o.name);
    return names;
  }
});

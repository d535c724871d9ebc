import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLifecycle } from "../../../components/providers/bucket-lifecycle";
import {
  addCannedPolicy,
  addTier,
  addUser,
  attachPolicies,
  listTiers,
  verifyTier,
} from "../../../components/providers/minio-admin";
import type { MinioConnection } from "../../../components/providers/minio-connection";
import { createEphemeralStack, type EphemeralStack } from "../../helpers/engine";
import { startTestMinio, type TestMinio } from "../../helpers/minio";

/** The types of the resources an operation deleted, in the order the engine finished them. */
function deletionRecorder() {
  const deleted: string[] = [];
  const onEvent = (e: EngineEvent) => {
    const meta = e.resOutputsEvent?.metadata;
    if (meta?.op === "delete") deleted.push(meta.type);
  };
  return { deleted, onEvent };
}

// MinioTier + BucketLifecycle through the real CLI, language host and dynamic-provider plugin.
describe("MinioTier and BucketLifecycle through the real Pulumi engine", () => {
  let minio: TestMinio;
  let eph: EphemeralStack;
  let hot: MinioConnection;
  let cold: MinioConnection;
  const rotatedSecret = `rotated-${randomBytes(8).toString("hex")}`;

  beforeAll(async () => {
    minio = await startTestMinio();
    hot = minio.connection("hot");
    cold = minio.connection("cold");
    await minio.client("cold").makeBucket("cold-tier");
    await minio.client("hot").makeBucket("artifacts");
    eph = await createEphemeralStack(join(__dirname, "..", "..", "engine", "fixtures", "tier"), {
      "wss-tier:hotEndpoint": { value: hot.endpoint },
      "wss-tier:hotAccessKey": { value: hot.accessKey },
      "wss-tier:hotSecretKey": { value: hot.secretKey, secret: true },
      "wss-tier:coldEndpoint": { value: cold.endpoint },
      "wss-tier:coldBucket": { value: "cold-tier" },
      "wss-tier:coldAccessKey": { value: cold.accessKey },
      "wss-tier:coldSecretKey": { value: cold.secretKey, secret: true },
      "wss-tier:hotBucket": { value: "artifacts" },
    });
  });
  afterAll(async () => {
    try {
      await eph?.stack.setConfig("wss-tier:forceDelete", { value: "true" });
      await eph?.stack.up();
    } finally {
      await eph?.dispose();
      await minio?.stop();
    }
  });

  it("goes up: the tier exists on the hot server and the bucket has the transition rule", async () => {
    const up = await eph.stack.up();
    expect(up.summary.resourceChanges).toEqual({ create: 3 });
    expect(up.outputs.tierName?.value).toBe("COLD");
    expect((await listTiers(hot)).map((t) => [t.name, t.bucket, t.accessKey])).toEqual([
      ["COLD", "cold-tier", cold.accessKey],
    ]);
    const rules = await readLifecycle(minio.client("hot"), "artifacts");
    expect(rules).toEqual([
      {
        id: "transition",
        enabled: true,
        prefix: "",
        minObjectSizeBytes: 1024,
        transition: { days: 30, storageClass: "COLD" },
      },
    ]);
    expect(eph.backendText()).not.toContain(cold.secretKey);
    expect(eph.backendText()).not.toContain(hot.secretKey);
    // The serialized provider code each resource carries in state stays small: npm packages are
    // required, only our small modules are inlined.
    const state = await eph.stack.exportStack();
    const resources = state.deployment.resources as { type: string; outputs?: { __provider?: string } }[];
    const providers = resources.filter((r) => r.type.includes("/storage:")).map((r) => r.outputs?.__provider ?? "");
    expect(providers).toHaveLength(2);
    for (const code of providers) {
      expect(code.length).toBeLessThan(150_000);
      expect(code).toMatch(/require\("aws4[/"]/);
    }
  });

  it("a second preview shows no changes; refresh (read) finds no drift", async () => {
    expect((await eph.stack.preview()).changeSummary).toEqual({ same: 3 });
    // read (refresh) finds everything as the state says; providers.live.test.ts shows diff after read.
    const refresh = await eph.stack.refresh();
    expect(refresh.summary.resourceChanges).toEqual({ same: 3 });
  });

  it("a lifecycle naming a tier that does not exist fails at preview, naming bucket and rule", async () => {
    await eph.stack.setConfig("wss-tier:lifecycleTier", { value: "NOSUCH" });
    const failed = await eph.stack.preview().then(
      () => undefined,
      (e: Error) => e,
    );
    await eph.stack.removeConfig("wss-tier:lifecycleTier");
    expect(String(failed?.message)).toContain(
      `bucket "artifacts", rule "transition": tier "NOSUCH" does not exist on ${hot.endpoint} (tiers: COLD)`,
    );
  });

  it("changing the days shows exactly one update", async () => {
    await eph.stack.setConfig("wss-tier:transitionDays", { value: "7" });
    const up = await eph.stack.up();
    expect(up.summary.resourceChanges).toEqual({ same: 2, update: 1 });
    expect((await readLifecycle(minio.client("hot"), "artifacts"))[0]?.transition).toEqual({
      days: 7,
      storageClass: "COLD",
    });
  });

  it("a credential rotation updates the tier in place; MinIO then uses the new credentials", async () => {
    await addCannedPolicy(cold, "cold-tier-rw", {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::cold-*", "arn:aws:s3:::cold-*/*"] }],
    });
    await addUser(cold, "tier-writer", rotatedSecret);
    await attachPolicies(cold, "tier-writer", ["cold-tier-rw"]);
    await eph.stack.setConfig("wss-tier:coldAccessKey", { value: "tier-writer" });
    await eph.stack.setConfig("wss-tier:coldSecretKey", { value: rotatedSecret, secret: true });

    const preview = await eph.stack.preview({ diff: true });
    expect(preview.changeSummary).toEqual({ same: 2, update: 1 });
    expect(preview.stdout).not.toContain(rotatedSecret);
    const up = await eph.stack.up();
    expect(up.summary.resourceChanges).toEqual({ same: 2, update: 1 });
    expect((await listTiers(hot))[0]?.accessKey).toBe("tier-writer");
    await verifyTier(hot, "COLD");
    expect(eph.backendText()).not.toContain(rotatedSecret);
    expect((await eph.stack.preview()).changeSummary).toEqual({ same: 3 });
  });

  it("destroy refuses, clearly, while the tier holds objects; with forceDelete it removes lifecycle then tier", async () => {
    await eph.stack.setConfig("wss-tier:transitionDays", { value: "0" });
    await eph.stack.up();
    const data = randomBytes(4096);
    await minio.client("hot").putObject("artifacts", "big.bin", data);
    const deadline = Date.now() + 60_000;
    while ((await minio.client("hot").statObject("artifacts", "big.bin")).metaData["x-amz-storage-class"] !== "COLD") {
      if (Date.now() > deadline) throw new Error("the object never reached the COLD tier");
      await new Promise((r) => setTimeout(r, 250));
    }

    const refused = await eph.stack.destroy().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(String(refused?.message)).toContain('tier "COLD" still holds objects in bucket "cold-tier"');
    expect(String(refused?.message)).toContain("forceDelete: true");
    expect(String(refused?.message)).not.toContain(rotatedSecret);
    expect((await listTiers(hot)).map((t) => t.name)).toEqual(["COLD"]);

    await eph.stack.setConfig("wss-tier:forceDelete", { value: "true" });
    // The lifecycle is gone already; up puts it back and records forceDelete on the tier.
    await eph.stack.up();
    const { deleted, onEvent } = deletionRecorder();
    const destroyed = await eph.stack.destroy({ onEvent });
    expect(destroyed.summary.resourceChanges).toEqual({ delete: 3 });
    expect(deleted.filter((t) => t.includes("/storage:"))).toEqual([
      "pulumi-nodejs:dynamic/storage:BucketLifecycle",
      "pulumi-nodejs:dynamic/storage:MinioTier",
    ]);
    expect(await listTiers(hot)).toEqual([]);
    expect(await readLifecycle(minio.client("hot"), "artifacts")).toEqual([]);
  });

  it("an existing tier is taken over by name with adoptExisting (pulumi import cannot import dynamic resources)", async () => {
    await minio.client("cold").makeBucket("cold-existing");
    await addTier(hot, {
      name: "COLD",
      type: "minio",
      endpoint: cold.endpoint,
      bucket: "cold-existing",
      prefix: "hot/",
      accessKey: cold.accessKey,
      secretKey: cold.secretKey,
    });
    // Without adoptExisting, create refuses (see providers.live.test.ts).
    await eph.stack.setConfig("wss-tier:coldBucket", { value: "cold-existing" });
    await eph.stack.setConfig("wss-tier:adoptExisting", { value: "true" });
    const up = await eph.stack.up();
    expect(up.summary.resourceChanges).toEqual({ create: 3 });
    // The adopted tier now carries the program's credentials.
    expect((await listTiers(hot))[0]?.accessKey).toBe("tier-writer");
    expect((await eph.stack.preview()).changeSummary).toEqual({ same: 3 });
  });
});

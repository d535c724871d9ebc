import { randomBytes } from "node:crypto";
import * as http from "node:http";
import aws4 from "aws4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tierUserPolicy } from "../../../components/cold-tier";
import { emptyBucket } from "../../../components/providers/bucket-contents";
import { readLifecycle, writeLifecycle } from "../../../components/providers/bucket-lifecycle";
import { buildDocument, type LifecycleSettings } from "../../../components/providers/lifecycle-document";
import { addTier, isMinioAdminError, listTiers, removeTier } from "../../../components/providers/minio-admin";
import type { MinioConnection } from "../../../components/providers/minio-connection";
import { applyScopedUser } from "../../../components/providers/scoped-user";
import { clientFor, readAll, startTestMinio, type TestMinio } from "../../helpers/minio";
import { waitFor } from "../../helpers/wait";

/** A signed HEAD, to see the response headers exactly as MinIO sends them. */
function head(conn: MinioConnection, bucket: string, key: string): Promise<http.IncomingHttpHeaders> {
  const url = new URL(conn.endpoint);
  const signed = aws4.sign(
    { host: url.host, path: `/${bucket}/${key}`, method: "HEAD", service: "s3", region: "us-east-1" },
    { accessKeyId: conn.accessKey, secretAccessKey: conn.secretKey },
  );
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: url.hostname, port: url.port, method: "HEAD", path: signed.path }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve(res.headers);
      else reject(new Error(`HEAD ${bucket}/${key}: HTTP ${res.statusCode}`));
    });
    for (const [k, v] of Object.entries(signed.headers ?? {})) req.setHeader(k, String(v));
    req.on("error", reject);
    req.end();
  });
}

/** The cold-side user of the tier, as ColdTier names it for the bucket `cold-tier`. */
const TIER_USER = { accessKey: "tier-cold-tier", secretKey: "tier-user-secret-0123456789" };

describe("lifecycle documents and a real transition against real hot and cold MinIO servers", () => {
  let minio: TestMinio;
  let hot: MinioConnection;
  const base: LifecycleSettings = {
    bucket: "artifacts",
    tier: "COLD",
    transitionDays: 30,
    prefix: "runs/",
    minObjectSizeBytes: 1024,
  };

  beforeAll(async () => {
    minio = await startTestMinio({ serverEnv: { MINIO_SCANNER_SPEED: "fastest" } });
    const c = minio.server("cold");
    hot = minio.connection("hot");
    await minio.client("cold").makeBucket("cold-tier");
    await minio.client("hot").makeBucket("artifacts");
    await minio.client("hot").makeBucket("transitions");
    // The tier carries the restricted cold-side user ColdTier creates, with its very policy: never
    // the cold root credentials.
    const coldRoot = minio.connection("cold");
    await applyScopedUser(coldRoot, {
      ...TIER_USER,
      policyName: TIER_USER.accessKey,
      policy: tierUserPolicy("cold-tier"),
    });
    await addTier(hot, {
      name: "COLD",
      type: "minio",
      endpoint: c.endpoint,
      bucket: "cold-tier",
      prefix: "hot/",
      ...TIER_USER,
    });
  });
  afterAll(async () => {
    await minio?.stop();
  });

  it("a bucket without a lifecycle reads as no rules", async () => {
    expect(await readLifecycle(minio.client("hot"), "artifacts")).toEqual([]);
  });

  it("sets a single-rule document and reads back the same normalised document (minio-js: one rule = object)", async () => {
    const doc = buildDocument(base);
    await writeLifecycle(minio.client("hot"), "artifacts", doc);
    const raw = await minio.client("hot").getBucketLifecycle("artifacts");
    expect(Array.isArray(raw?.Rule)).toBe(false);
    expect(raw?.Rule).toMatchObject({
      ID: "transition",
      Filter: { And: { Prefix: "runs/", ObjectSizeGreaterThan: 1024 } },
      Transition: { Days: 30, StorageClass: "COLD" },
    });
    expect(await readLifecycle(minio.client("hot"), "artifacts")).toEqual(doc);
  });

  it("updates to two rules with expiration and noncurrent actions, and Days 0 comes back absent", async () => {
    const doc = buildDocument({
      ...base,
      transitionDays: 0,
      prefix: "",
      expirationDays: 365,
      noncurrentTransitionDays: 0,
      noncurrentExpirationDays: 7,
    });
    await writeLifecycle(minio.client("hot"), "artifacts", doc);
    const raw = await minio.client("hot").getBucketLifecycle("artifacts");
    const rules = raw?.Rule as unknown as Record<string, unknown>[];
    const transition = rules.find((r) => r.ID === "transition");
    // MinIO omits <Days>0</Days> in the transition (Go omitempty)...
    expect(transition?.Transition).toEqual({ StorageClass: "COLD" });
    // ...but NoncurrentDays 0 comes back as written.
    expect(transition?.NoncurrentVersionTransition).toEqual({ NoncurrentDays: 0, StorageClass: "COLD" });
    expect(transition?.Filter).toEqual({ ObjectSizeGreaterThan: 1024 });
    expect(await readLifecycle(minio.client("hot"), "artifacts")).toEqual(doc);
  });

  it("refuses a transition to a tier that does not exist, once it has waited for the tier to show", async () => {
    const started = Date.now();
    await expect(
      writeLifecycle(minio.client("hot"), "artifacts", buildDocument({ ...base, tier: "NOSUCH" }), 1000),
    ).rejects.toThrow(/bucket "artifacts".*InvalidStorageClass.*\(the tier still unknown after 1000 ms\)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it("deletes the lifecycle", async () => {
    await writeLifecycle(minio.client("hot"), "artifacts", []);
    expect(await readLifecycle(minio.client("hot"), "artifacts")).toEqual([]);
  });

  it("a Days 0 rule set before upload moves a large object to the cold tier; a small one stays", async () => {
    const client = minio.client("hot");
    await writeLifecycle(client, "transitions", buildDocument({ ...base, bucket: "transitions", transitionDays: 0 }));
    const large = randomBytes(64 * 1024);
    const small = randomBytes(100);
    await client.putObject("transitions", "runs/1/model.bin", large);
    await client.putObject("transitions", "runs/1/small.txt", small);
    await client.putObject("transitions", "other/model.bin", large);

    const headers = await waitFor("the large object to reach the COLD tier", async () => {
      const h = await head(hot, "transitions", "runs/1/model.bin");
      return h["x-amz-storage-class"] === "COLD" ? h : undefined;
    });
    expect(headers["content-length"]).toBe(String(large.length));

    // The bytes are in the cold bucket, under the tier's prefix.
    const cold = minio.client("cold");
    const remote: { name: string; size: number }[] = [];
    for await (const o of cold.listObjects("cold-tier", "", true))
      if (o.name) remote.push({ name: o.name, size: o.size });
    expect(remote).toHaveLength(1);
    expect(remote[0]?.name.startsWith("hot/")).toBe(true);
    expect(await readAll(await cold.getObject("cold-tier", remote[0]?.name as string))).toEqual(large);

    // GET through the hot endpoint still returns them.
    expect(await readAll(await client.getObject("transitions", "runs/1/model.bin"))).toEqual(large);
    // The small object and the one outside the prefix did not move (no storage class header: STANDARD).
    expect((await head(hot, "transitions", "runs/1/small.txt"))["x-amz-storage-class"]).toBeUndefined();
    expect((await head(hot, "transitions", "other/model.bin"))["x-amz-storage-class"]).toBeUndefined();
  });

  it("an s3-type tier (an S3 endpoint we are given, coldKind s3) carries a transition too", async () => {
    const coldRoot = minio.connection("cold");
    const archiveUser = { accessKey: "archive-writer", secretKey: "archive-writer-secret-0123456789" };
    await minio.client("cold").makeBucket("s3-archive");
    await applyScopedUser(coldRoot, {
      ...archiveUser,
      policyName: archiveUser.accessKey,
      policy: tierUserPolicy("s3-archive"),
    });
    await addTier(hot, {
      name: "ARCHIVE",
      type: "s3",
      endpoint: minio.server("cold").endpoint,
      bucket: "s3-archive",
      prefix: "",
      region: "us-east-1",
      ...archiveUser,
    });
    const client = minio.client("hot");
    await client.makeBucket("s3-transitions");
    await writeLifecycle(
      client,
      "s3-transitions",
      buildDocument({ ...base, bucket: "s3-transitions", tier: "ARCHIVE", transitionDays: 0 }),
    );
    const large = randomBytes(64 * 1024);
    await client.putObject("s3-transitions", "runs/2/model.bin", large);
    await waitFor("the object to reach the s3-type tier", async () => {
      const h = await head(hot, "s3-transitions", "runs/2/model.bin");
      return h["x-amz-storage-class"] === "ARCHIVE" ? h : undefined;
    });
    const remote: string[] = [];
    for await (const o of minio.client("cold").listObjects("s3-archive", "", true)) if (o.name) remote.push(o.name);
    expect(remote).toHaveLength(1);
    expect(await readAll(await client.getObject("s3-transitions", "runs/2/model.bin"))).toEqual(large);
  });

  it("the hot MinIO holds only the restricted user's keys for the tier, and that user carried the transition", async () => {
    const tiers = await listTiers(hot);
    expect(tiers.find((t) => t.name === "COLD")?.accessKey).toBe(TIER_USER.accessKey);
    expect(JSON.stringify(tiers)).not.toContain(minio.server("cold").accessKey);
    // The restricted user reaches nothing but its bucket on the cold side.
    const asTierUser = clientFor({ endpoint: minio.server("cold").endpoint, ...TIER_USER });
    await minio.client("cold").makeBucket("elsewhere");
    await expect(asTierUser.putObject("elsewhere", "x", Buffer.from("x"))).rejects.toMatchObject({
      code: "AccessDenied",
    });
  });

  it("the tier now holds an object: removing it without force is refused", async () => {
    const err = await removeTier(hot, "COLD").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isMinioAdminError(err, "XMinioAdminTierBackendNotEmpty")).toBe(true);
  });

  it("emptying the bucket (what an ephemeral destroy does) makes MinIO delete the copies on the tier", async () => {
    // The s3-type tier is someone else's bucket: its copies go only because the hot side deletes them.
    const remote = async () => {
      const names: string[] = [];
      for await (const o of minio.client("cold").listObjects("s3-archive", "", true)) if (o.name) names.push(o.name);
      return names;
    };
    expect(await remote()).toHaveLength(1);
    await emptyBucket(hot, "s3-transitions");
    await minio.client("hot").removeBucket("s3-transitions");
    await waitFor("the tier's copy to be deleted", async () => ((await remote()).length === 0 ? true : undefined));
    await removeTier(hot, "ARCHIVE");
  });
});

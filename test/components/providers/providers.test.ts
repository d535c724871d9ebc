import { describe, expect, it } from "vitest";
import { bucketLifecycleProvider } from "../../../components/providers/bucket-lifecycle";
import { buildDocument, normaliseDocument } from "../../../components/providers/lifecycle-document";
import { credentialsMatch, hashCredentials, tierProvider } from "../../../components/providers/tier";
import { type Bag, untypedProvider } from "../../helpers/providers";

// The providers' check and diff without a server: every value that decides a plan.
const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const connection = { endpoint: "http://127.0.0.1:9000", accessKey: "root", secretKey: "root-secret" };
const credentials = { accessKey: "cold-user", secretKey: "cold-secret-123" };

const check = (p: unknown, news: Bag) => untypedProvider(p).check({}, news);
const diff = (p: unknown, olds: Bag, news: Bag) => untypedProvider(p).diff("id", olds, news);

describe("MinioTier check", () => {
  const tier = {
    connection,
    name: "cold",
    type: "minio",
    endpoint: "http://cold:9000",
    bucket: "cold-tier",
    credentials,
  };

  it("uppercases the name and fills defaults", async () => {
    const { inputs, failures } = await check(tierProvider, tier);
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({ name: "COLD", prefix: "", region: "", forceDelete: false, adoptExisting: false });
  });

  it("refuses reserved names, bad types, endpoints, buckets and empty credentials, never echoing a secret", async () => {
    const { failures } = await check(tierProvider, {
      ...tier,
      name: "standard",
      type: "azure",
      endpoint: "cold:9000",
      bucket: "Bad_Bucket",
      credentials: { accessKey: "someone", secretKey: "" },
    });
    expect(failures.map((f: Bag) => f.property)).toEqual(["name", "type", "endpoint", "bucket", "credentials"]);
    expect(failures[0].reason).toMatch(/"STANDARD" is reserved/);
    expect(JSON.stringify(failures)).not.toContain("someone");
  });

  it("skips what is not known yet (preview)", async () => {
    const { failures } = await check(tierProvider, { ...tier, name: unknown, endpoint: unknown, credentials: unknown });
    expect(failures).toEqual([]);
  });
});

describe("MinioTier diff", () => {
  const inputs = {
    connection,
    name: "COLD",
    type: "minio",
    endpoint: "http://cold:9000",
    bucket: "cold-tier",
    prefix: "",
    region: "",
    credentials,
    forceDelete: false,
    adoptExisting: false,
  };
  const { credentials: _c, ...rest } = inputs;
  const state = { ...rest, accessKey: credentials.accessKey, credentialsHash: hashCredentials(credentials) };

  it("no change when the credentials hash matches (MinIO only shows REDACTED)", async () => {
    expect(await diff(tierProvider, state, inputs)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: true,
    });
  });

  it("a credential rotation is an in-place update", async () => {
    const rotated = { ...inputs, credentials: { ...credentials, secretKey: "rotated-secret" } };
    expect(await diff(tierProvider, state, rotated)).toMatchObject({ changes: true, replaces: [] });
    expect(await diff(tierProvider, state, { ...inputs, credentials: unknown })).toMatchObject({ changes: true });
  });

  it("name, type, endpoint, bucket and prefix changes replace, deleting the old tier first", async () => {
    for (const [field, value] of [
      ["name", "COLDER"],
      ["type", "s3"],
      ["endpoint", "http://other:9000"],
      ["bucket", "other"],
      ["prefix", "p/"],
    ]) {
      expect(await diff(tierProvider, state, { ...inputs, [field as string]: value })).toEqual({
        changes: true,
        replaces: [field],
        deleteBeforeReplace: true,
      });
    }
  });

  it("forceDelete is a state-only update", async () => {
    expect(await diff(tierProvider, state, { ...inputs, forceDelete: true })).toMatchObject({
      changes: true,
      replaces: [],
    });
  });
});

describe("credentials hash", () => {
  it("is salted, holds no secret and matches only the same credentials", () => {
    const a = hashCredentials(credentials);
    expect(a).not.toEqual(hashCredentials(credentials));
    expect(a).not.toContain(credentials.secretKey);
    expect(credentialsMatch(credentials, a)).toBe(true);
    expect(credentialsMatch({ ...credentials, secretKey: "other" }, a)).toBe(false);
    expect(credentialsMatch({ ...credentials, accessKey: "other" }, a)).toBe(false);
    expect(credentialsMatch(credentials, "")).toBe(false);
  });
});

describe("BucketLifecycle check and diff", () => {
  const lifecycle = { connection, bucket: "workflow-artifacts", tier: "COLD", minObjectSizeBytes: 1024 };

  it("fills the defaults (30 days, every key) and, with the tier still unknown, asks no server", async () => {
    const { inputs, failures } = await check(bucketLifecycleProvider, { ...lifecycle, tier: unknown });
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({ transitionDays: 30, prefix: "", minObjectSizeBytes: 1024 });
  });

  it("bad days, bad filters and a bad tier name fail with the bucket and the rule", async () => {
    const { failures } = await check(bucketLifecycleProvider, {
      ...lifecycle,
      connection: unknown,
      tier: "cold",
      transitionDays: -3,
      minObjectSizeBytes: "big",
    });
    expect(failures.map((f: Bag) => [f.property, f.reason])).toEqual([
      ["transitionDays", expect.stringMatching(/^bucket "workflow-artifacts", rule "transition": transitionDays/)],
      ["minObjectSizeBytes", expect.stringMatching(/^bucket "workflow-artifacts", rule "transition": filter/)],
      ["tier", expect.stringMatching(/^bucket "workflow-artifacts", rule "transition": tier name "cold"/)],
    ]);
  });

  const settings = {
    connection,
    bucket: "workflow-artifacts",
    tier: "COLD",
    transitionDays: 0,
    prefix: "",
    minObjectSizeBytes: 1024,
  };

  it("no change when MinIO's read-back (single rule object, Days 0 absent) is the same document", async () => {
    const readBack = normaliseDocument({
      Rule: {
        ID: "transition",
        Status: "Enabled",
        Filter: { ObjectSizeGreaterThan: 1024 },
        Transition: { StorageClass: "COLD" },
      },
    });
    expect(await diff(bucketLifecycleProvider, { ...settings, rules: readBack }, settings)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("changed days are an update; another bucket is a replacement; drift seen by read is an update", async () => {
    const state = { ...settings, rules: buildDocument(settings) };
    expect(await diff(bucketLifecycleProvider, state, { ...settings, transitionDays: 7 })).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(await diff(bucketLifecycleProvider, state, { ...settings, bucket: "user-uploads" })).toMatchObject({
      changes: true,
      replaces: ["bucket"],
    });
    expect(await diff(bucketLifecycleProvider, { ...state, rules: [] }, settings)).toMatchObject({ changes: true });
  });
});

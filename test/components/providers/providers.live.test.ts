import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketLifecycleProvider, readLifecycle } from "../../../components/providers/bucket-lifecycle";
import {
  addCannedPolicy,
  addTier,
  addUser,
  attachPolicies,
  editTierCredentials,
  listTiers,
  removeTier,
  verifyTier,
} from "../../../components/providers/minio-admin";
import type { MinioConnection } from "../../../components/providers/minio-connection";
import { tierProvider } from "../../../components/providers/tier";
import { startTestMinio, type TestMinio } from "../../helpers/minio";
import { type Bag, untypedProvider } from "../../helpers/providers";

// The two providers' functions called directly against real servers: what the engine would call,
// without the engine, so the cases that are awkward to reach through a program are quick to test.
const tierP = untypedProvider(tierProvider);
const lifecycleP = untypedProvider(bucketLifecycleProvider);

describe("MinioTier and BucketLifecycle providers against real servers", () => {
  let minio: TestMinio;
  let hot: MinioConnection;
  let cold: MinioConnection;
  let tierInputs: Bag;

  beforeAll(async () => {
    minio = await startTestMinio();
    hot = minio.connection("hot");
    cold = minio.connection("cold");
    await minio.client("cold").makeBucket("cold-tier");
    await minio.client("cold").makeBucket("cold-other");
    await minio.client("hot").makeBucket("artifacts");
    tierInputs = (
      await tierP.check(
        {},
        {
          connection: hot,
          name: "cold",
          type: "minio",
          endpoint: cold.endpoint,
          bucket: "cold-tier",
          credentials: { accessKey: cold.accessKey, secretKey: cold.secretKey },
        },
      )
    ).inputs;
  });
  afterAll(async () => {
    await minio?.stop();
  });

  it("check refuses a lifecycle whose tier does not exist on the hot server, naming bucket and rule", async () => {
    const { failures } = await lifecycleP.check({}, { connection: hot, bucket: "artifacts", tier: "COLD" });
    expect(failures).toEqual([
      {
        property: "tier",
        reason: `bucket "artifacts", rule "transition": tier "COLD" does not exist on ${hot.endpoint} (tiers: none)`,
      },
    ]);
  });

  let tierState: Bag;
  it("tier create, then read finds it unchanged (refresh)", async () => {
    const created = await tierP.create(tierInputs);
    expect(created.id).toBe("COLD");
    expect(created.outs).not.toHaveProperty("credentials");
    expect(JSON.stringify(created.outs)).not.toContain(cold.secretKey);
    tierState = created.outs;
    const read = await tierP.read("COLD", tierState);
    expect(read.props).toEqual(tierState);
    expect((await tierP.diff("COLD", read.props, tierInputs)).changes).toBe(false);
  });

  it("a tier with our remote and access key is ours (an interrupted run): create takes it back", async () => {
    const again = await tierP.create(tierInputs);
    expect(again.id).toBe("COLD");
    await verifyTier(hot, "COLD");
  });

  it("creating a tier that exists and is not ours fails with what to do; adopting one that differs is refused", async () => {
    const theirs = { ...tierInputs, credentials: { accessKey: "someone-else", secretKey: "their-secret-123" } };
    await expect(tierP.create(theirs)).rejects.toThrow(/tier "COLD" already exists .* set adoptExisting: true/);
    await expect(tierP.create({ ...tierInputs, adoptExisting: true, bucket: "cold-other" })).rejects.toThrow(
      /tier "COLD" exists .* but differs in bucket/,
    );
  });

  it("read sees credentials changed outside Pulumi: the next diff is an update that puts ours back", async () => {
    // MinIO never shows the secret, but an access key changed from outside is visible in the list.
    await addCannedPolicy(cold, "rw", {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::cold-tier/*", "arn:aws:s3:::cold-tier"] },
      ],
    });
    await addUser(cold, "outsider", "outsider-secret");
    await attachPolicies(cold, "outsider", ["rw"]);
    await editTierCredentials(hot, "COLD", { accessKey: "outsider", secretKey: "outsider-secret" });

    const read = await tierP.read("COLD", tierState);
    expect(read.props.accessKey).toBe("outsider");
    expect(read.props.credentialsHash).toBe("");
    // The inputs as found, for `preview --refresh`: another access key, a secret we cannot read.
    expect(read.inputs?.credentials).toEqual({ accessKey: "outsider", secretKey: "(changed outside Pulumi)" });
    const diff = await tierP.diff("COLD", read.props, tierInputs);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    const updated = await tierP.update("COLD", read.props, tierInputs);
    expect((await listTiers(hot))[0]?.accessKey).toBe(cold.accessKey);
    tierState = updated.outs;
  });

  let lifecycleState: Bag;
  it("lifecycle check passes once the tier exists; create, read, update, delete", async () => {
    const { inputs, failures } = await lifecycleP.check({}, { connection: hot, bucket: "artifacts", tier: "COLD" });
    expect(failures).toEqual([]);
    const created = await lifecycleP.create(inputs);
    expect(created.id).toBe("artifacts");
    lifecycleState = created.outs;
    expect(await readLifecycle(minio.client("hot"), "artifacts")).toEqual(lifecycleState.rules);

    // Read back through minio-js (single rule object): no change.
    const read = await lifecycleP.read("artifacts", lifecycleState);
    expect((await lifecycleP.diff("artifacts", read.props, inputs)).changes).toBe(false);

    const news = { ...inputs, transitionDays: 0, expirationDays: 400 };
    expect((await lifecycleP.diff("artifacts", read.props, news)).changes).toBe(true);
    const updated = await lifecycleP.update("artifacts", read.props, news);
    const reread = await lifecycleP.read("artifacts", updated.outs);
    expect((await lifecycleP.diff("artifacts", reread.props, news)).changes).toBe(false);
    expect(reread.props.rules.map((r: Bag) => r.id)).toEqual(["expiration", "transition"]);

    // A second writer clobbering the document is drift: read shows it, diff wants an update.
    await minio.client("hot").removeBucketLifecycle("artifacts");
    const drifted = await lifecycleP.read("artifacts", updated.outs);
    expect(drifted.props.rules).toEqual([]);
    expect((await lifecycleP.diff("artifacts", drifted.props, news)).changes).toBe(true);

    // create refuses to take over a document someone else wrote.
    await lifecycleP.update("artifacts", drifted.props, news);
    await expect(lifecycleP.create(inputs)).rejects.toThrow(/already has a lifecycle document/);

    await lifecycleP.delete("artifacts", updated.outs);
    expect(await readLifecycle(minio.client("hot"), "artifacts")).toEqual([]);
    await lifecycleP.delete("artifacts", updated.outs);
  });

  it("tier read of a tier removed outside Pulumi says it is gone; delete of a gone tier succeeds", async () => {
    await removeTier(hot, "COLD");
    expect(await tierP.read("COLD", tierState)).toEqual({});
    await tierP.delete("COLD", tierState);
  });

  it("adoptExisting takes over a matching tier by name and installs our credentials", async () => {
    await addTier(hot, {
      name: "COLD",
      type: "minio",
      endpoint: cold.endpoint,
      bucket: "cold-tier",
      accessKey: "outsider",
      secretKey: "outsider-secret",
    });
    const adopted = await tierP.create({ ...tierInputs, adoptExisting: true });
    expect(adopted.id).toBe("COLD");
    expect((await listTiers(hot))[0]?.accessKey).toBe(cold.accessKey);
    expect((await tierP.diff("COLD", adopted.outs, { ...tierInputs, adoptExisting: true })).changes).toBe(false);
    await tierP.delete("COLD", adopted.outs);
    expect(await listTiers(hot)).toEqual([]);
  });
});

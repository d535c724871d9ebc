import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encryptData } from "../../../components/providers/madmin-encryption";
import {
  addCannedPolicy,
  addTier,
  addUser,
  adminRequest,
  attachPolicies,
  editTierCredentials,
  isMinioAdminError,
  listTiers,
  type MinioAdminError,
  parseAdminError,
  removeCannedPolicy,
  removeTier,
  removeUser,
  type TierSpec,
  userInfo,
  verifyTier,
} from "../../../components/providers/minio-admin";
import type { MinioConnection } from "../../../components/providers/minio-connection";
import { clientFor, startTestMinio, type TestMinio } from "../../helpers/minio";

/** Runs `call` and returns the MinioAdminError it must throw. */
async function adminError(call: Promise<unknown>): Promise<MinioAdminError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isMinioAdminError(err)).toBe(true);
  return err as MinioAdminError;
}

// The admin client against two real MinIO servers: the hot one gets the tiers, the cold one holds
// the tier buckets (and is where the IAM calls make a dedicated tier user).
describe("MinIO admin client against real servers", () => {
  let minio: TestMinio;
  let hot: MinioConnection;
  let cold: MinioConnection;
  const tierSpec = (name: string, bucket: string): TierSpec => ({
    name,
    type: "minio",
    endpoint: cold.endpoint,
    bucket,
    prefix: "tiered/",
    accessKey: cold.accessKey,
    secretKey: cold.secretKey,
  });

  beforeAll(async () => {
    minio = await startTestMinio();
    hot = minio.connection("hot");
    cold = minio.connection("cold");
    for (const bucket of ["tier-a", "tier-busy", "tier-inuse"]) await minio.client("cold").makeBucket(bucket);
    await minio.client("cold").putObject("tier-inuse", "tiered/someone-elses.bin", Buffer.from("x"));
  });
  afterAll(async () => {
    await minio?.stop();
  });

  it("lists no tiers on a fresh server (MinIO answers a JSON null)", async () => {
    const raw = await adminRequest(hot, { method: "GET", path: "/tier", operation: "list tiers" });
    expect(raw.body.toString()).toBe("null");
    expect(await listTiers(hot)).toEqual([]);
  });

  it("the server decrypts our bodies: one encrypted with another password is refused", async () => {
    const body = encryptData("not-the-signing-secret", JSON.stringify({ Version: "v1", Type: "minio", Name: "X" }));
    const err = await adminError(adminRequest(hot, { method: "PUT", path: "/tier", body, operation: "add tier X" }));
    expect([err.code, err.statusCode]).toEqual(["XMinioAdminConfigBadJSON", 400]);
  });

  it("adds, lists (secret redacted and left out), verifies a tier", async () => {
    await addTier(hot, tierSpec("COLD", "tier-a"));
    const tiers = await listTiers(hot);
    // The prefix comes back as given: MinIO does not trim its trailing slash in the stored config.
    expect(tiers).toEqual([
      {
        name: "COLD",
        type: "minio",
        endpoint: cold.endpoint,
        bucket: "tier-a",
        prefix: "tiered/",
        region: "",
        accessKey: cold.accessKey,
      },
    ]);
    await verifyTier(hot, "COLD");
    // Lookups are exact-case: always use the uppercase name.
    expect((await adminError(verifyTier(hot, "cold"))).code).toBe("XMinioAdminTierNotFound");
  });

  it("refuses a lowercase name, a reserved name and a duplicate, with MinIO's codes", async () => {
    const lower = await adminError(addTier(hot, tierSpec("cold2", "tier-a")));
    expect([lower.code, lower.statusCode]).toEqual(["XMinioAdminTierNameNotUpperCase", 400]);
    expect(lower.message).toContain("add tier cold2");
    const reserved = await adminError(addTier(hot, tierSpec("STANDARD", "tier-a")));
    expect([reserved.code, reserved.statusCode]).toEqual(["XMinioAdminTierReserved", 400]);
    const duplicate = await adminError(addTier(hot, tierSpec("COLD", "tier-a")));
    expect([duplicate.code, duplicate.statusCode]).toEqual(["XMinioAdminTierAlreadyExists", 409]);
  });

  it("refuses a remote that already holds objects unless forced", async () => {
    const inUse = await adminError(addTier(hot, tierSpec("INUSE", "tier-inuse")));
    expect([inUse.code, inUse.statusCode]).toEqual(["XMinioAdminTierBackendInUse", 409]);
    await addTier(hot, tierSpec("INUSE", "tier-inuse"), { force: true });
    await removeTier(hot, "INUSE", { force: true });
  });

  // MinIO's probe PUTs first, and a failed PUT is always "insufficient permissions": the codes
  // XMinioAdminTierBucketNotFound / ...InvalidCredentials only follow a PUT that worked.
  it("refuses a remote bucket that does not exist and credentials that do not work", async () => {
    const noBucket = await adminError(addTier(hot, tierSpec("NOBUCKET", "no-such-bucket")));
    expect([noBucket.code, noBucket.statusCode]).toEqual(["XMinioAdminTierInsufficientPermissions", 400]);
    const badCreds = await adminError(addTier(hot, { ...tierSpec("BADCREDS", "tier-a"), secretKey: "wrong-secret" }));
    expect([badCreds.code, badCreds.statusCode]).toEqual(["XMinioAdminTierInsufficientPermissions", 400]);
    expect(badCreds.message).not.toContain("wrong-secret");
    // The message still says why, from the failed PUT.
    expect(noBucket.minioMessage).toBe("failed to perform PUT: Bucket not found: no-such-bucket");
    expect(badCreds.minioMessage).toMatch(/^failed to perform PUT: The request signature we calculated does not match/);
  });

  it("edits the credentials: to a dedicated cold user made with the IAM calls, then refuses bad ones", async () => {
    const policy = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::tier-a", "arn:aws:s3:::tier-a/*"] }],
    };
    await addCannedPolicy(cold, "tier-a-rw", policy);
    await addUser(cold, "tier-user", "tier-user-secret-1");
    await attachPolicies(cold, "tier-user", ["tier-a-rw"]);
    expect(await userInfo(cold, "tier-user")).toMatchObject({ status: "enabled", policyName: "tier-a-rw" });

    await editTierCredentials(hot, "COLD", { accessKey: "tier-user", secretKey: "tier-user-secret-1" });
    await verifyTier(hot, "COLD");
    expect((await listTiers(hot))[0]?.accessKey).toBe("tier-user");

    const bad = await adminError(editTierCredentials(hot, "COLD", { accessKey: "tier-user", secretKey: "nope" }));
    expect(bad.code).toBe("XMinioAdminTierInsufficientPermissions");
    expect((await listTiers(hot))[0]?.accessKey).toBe("tier-user");
    const missing = await adminError(editTierCredentials(hot, "NOSUCH", { accessKey: "a", secretKey: "b" }));
    expect([missing.code, missing.statusCode]).toEqual(["XMinioAdminTierNotFound", 404]);
  });

  it("refuses to remove a tier whose remote holds objects, unless forced", async () => {
    await addTier(hot, tierSpec("BUSY", "tier-busy"));
    await minio.client("cold").putObject("tier-busy", "tiered/object.bin", Buffer.from("data"));
    const busy = await adminError(removeTier(hot, "BUSY"));
    expect([busy.code, busy.statusCode]).toEqual(["XMinioAdminTierBackendNotEmpty", 400]);
    await removeTier(hot, "BUSY", { force: true });
    expect((await listTiers(hot)).map((t) => t.name)).toEqual(["COLD"]);
  });

  it("verify of an unknown tier is 404; remove of an unknown tier succeeds", async () => {
    const unknown = await adminError(verifyTier(hot, "NOSUCH"));
    expect([unknown.code, unknown.statusCode]).toEqual(["XMinioAdminTierNotFound", 404]);
    await removeTier(hot, "NOSUCH");
  });

  it("removes the tier", async () => {
    await removeTier(hot, "COLD");
    expect(await listTiers(hot)).toEqual([]);
  });

  it("turns a bad signature into a typed error without leaking the key", async () => {
    const err = await adminError(listTiers({ ...hot, secretKey: "not-the-secret" }));
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe("SignatureDoesNotMatch");
    expect(err.message).not.toContain("not-the-secret");
  });

  it("the IAM user works on S3 within its policy; removing user and policy cleans up", async () => {
    const user = clientFor({ endpoint: cold.endpoint, accessKey: "tier-user", secretKey: "tier-user-secret-1" });
    await user.putObject("tier-a", "by-user.txt", Buffer.from("hi"));
    await expect(user.putObject("tier-busy", "by-user.txt", Buffer.from("hi"))).rejects.toMatchObject({
      code: "AccessDenied",
    });
    await removeUser(cold, "tier-user");
    await removeCannedPolicy(cold, "tier-a-rw");
    const gone = await adminError(userInfo(cold, "tier-user"));
    expect(gone.code).toBe("XMinioAdminNoSuchUser");
  });
});

describe("MinIO admin errors", () => {
  it("parse MinIO's JSON error, an S3-style XML error, or anything else into the same typed error", () => {
    const json = parseAdminError(
      409,
      Buffer.from(
        '{"Code":"XMinioAdminTierAlreadyExists","Message":"Specified remote tier already exists","RequestId":"R1"}',
      ),
      "add tier COLD",
    );
    expect(isMinioAdminError(json, "XMinioAdminTierAlreadyExists")).toBe(true);
    expect(json).toMatchObject({ statusCode: 409, requestId: "R1", operation: "add tier COLD" });
    expect(json.message).toBe(
      "add tier COLD: XMinioAdminTierAlreadyExists: Specified remote tier already exists (HTTP 409)",
    );
    const xml = parseAdminError(403, Buffer.from("<Error><Code>AccessDenied</Code><Message>no</Message></Error>"), "x");
    expect([xml.code, xml.minioMessage]).toEqual(["AccessDenied", "no"]);
    const other = parseAdminError(502, Buffer.from("Bad Gateway"), "x");
    expect([other.code, other.minioMessage]).toEqual(["HTTP502", "Bad Gateway"]);
    expect(isMinioAdminError(new Error("plain"))).toBe(false);
  });
});

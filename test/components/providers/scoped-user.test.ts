import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiAccessPolicy } from "../../../components/api-access-policy";
import { addCannedPolicy, cannedPolicy } from "../../../components/providers/minio-admin";
import type { MinioConnection } from "../../../components/providers/minio-connection";
import { applyScopedUser, scopedUserProvider } from "../../../components/providers/scoped-user";
import { ownerFromPolicyId } from "../../../rules/ownership";
import { clientFor, startTestMinio, type TestMinio } from "../../helpers/minio";

// The provider's operations against a real MinIO, through our own admin client.
describe("scoped user provider against a real MinIO", () => {
  let minio: TestMinio;
  let connection: MinioConnection;
  const policy = apiAccessPolicy({ uploadsBucket: "user-uploads", artifactsBucket: "workflow-artifacts" });
  const inputs = (
    secretKey: string,
    doc: object = policy,
    extra: { owner?: string; adoptExisting?: boolean } = {},
  ) => ({
    connection,
    accessKey: "upload-api",
    secretKey,
    policyName: "upload-api",
    policy: doc,
    owner: extra.owner ?? "storage/stack-a",
    adoptExisting: extra.adoptExisting ?? false,
  });
  const asUser = (secretKey: string) =>
    clientFor({ endpoint: connection.endpoint, accessKey: "upload-api", secretKey });

  beforeAll(async () => {
    minio = await startTestMinio();
    connection = minio.connection("hot");
    for (const bucket of ["user-uploads", "workflow-artifacts"]) await minio.client("hot").makeBucket(bucket);
  });
  afterAll(async () => minio?.stop());

  it("creates the user with its policy: allowed inside its prefixes, refused outside", async () => {
    const created = await scopedUserProvider.create(inputs("first-secret-0123456789"));
    expect(created.id).toBe("upload-api");
    const user = asUser("first-secret-0123456789");
    await user.putObject("user-uploads", "uploads/a.txt", Buffer.from("a"));
    await expect(user.putObject("user-uploads", "other/a.txt", Buffer.from("a"))).rejects.toMatchObject({
      code: "AccessDenied",
    });
  });

  it("read finds the user and its policy; a second create-equivalent update changes nothing", async () => {
    const read = await scopedUserProvider.read?.("upload-api", inputs("first-secret-0123456789"));
    expect(read?.props?.policyName).toBe("upload-api");
    const diff = await scopedUserProvider.diff?.(
      "upload-api",
      inputs("first-secret-0123456789"),
      inputs("first-secret-0123456789"),
    );
    expect(diff?.changes).toBe(false);
    // And an update with the same inputs (what a refresh-then-up may send) leaves the user working
    // under the same policy, its key unchanged.
    await scopedUserProvider.update?.(
      "upload-api",
      inputs("first-secret-0123456789"),
      inputs("first-secret-0123456789"),
    );
    const again = await scopedUserProvider.read?.("upload-api", inputs("first-secret-0123456789"));
    expect(again?.props?.policyName).toBe("upload-api");
    await asUser("first-secret-0123456789").putObject("user-uploads", "uploads/again.txt", Buffer.from("a"));
    await expect(
      asUser("first-secret-0123456789").putObject("user-uploads", "other/a.txt", Buffer.from("a")),
    ).rejects.toMatchObject({
      code: "AccessDenied",
    });
  });

  it("takes back its own user after an interrupted run, keeping the key it is given", async () => {
    // What a run killed after create but before the state was written leaves: the user exists, ours.
    await scopedUserProvider.create(inputs("first-secret-0123456789"));
    await asUser("first-secret-0123456789").putObject("user-uploads", "uploads/kept.txt", Buffer.from("k"));
  });

  it("refuses a user another stack owns (its key would be reset), naming the option that adopts it", async () => {
    await expect(
      scopedUserProvider.create(inputs("stolen-secret-0123456789", policy, { owner: "storage/stack-b" })),
    ).rejects.toThrowError(
      `user "upload-api" already exists on ${connection.endpoint} and is not this stack's ` +
        '(owned by stack "storage/stack-a"): taking it over would reset its secret key and replace its policy. ' +
        "Set adoptExisting only if it is yours, or choose another name",
    );
    // Nothing changed: the owner's key still works.
    await asUser("first-secret-0123456789").putObject("user-uploads", "uploads/still.txt", Buffer.from("s"));
  });

  it("refuses a user someone made by hand, and adopts it when told to", async () => {
    // Made by a person: no owner in its policy.
    await applyScopedUser(connection, {
      accessKey: "by-hand",
      secretKey: "manual-secret-0123456789",
      policyName: "by-hand",
      policy,
    });
    const byHand = { ...inputs("adopted-secret-0123456789"), accessKey: "by-hand", policyName: "by-hand" };
    await expect(scopedUserProvider.create(byHand)).rejects.toThrowError(
      'user "by-hand" already exists', // and the reason, checked above
    );
    await expect(scopedUserProvider.create(byHand)).rejects.toThrowError(
      "it carries no ownership mark of this project",
    );
    await scopedUserProvider.create({ ...byHand, adoptExisting: true });
    expect(ownerFromPolicyId((await cannedPolicy(connection, "by-hand"))?.ID)).toBe("storage/stack-a");
    await scopedUserProvider.delete?.("by-hand", byHand);
  });

  it("read reports a policy edited by hand, as the document MinIO holds", async () => {
    const edited = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::*"] }],
    };
    await addCannedPolicy(connection, "upload-api", edited);
    const read = await scopedUserProvider.read?.("upload-api", inputs("first-secret-0123456789"));
    expect(read?.inputs?.policy).toEqual(edited);
    expect(read?.inputs?.owner).toBe("");
    const diff = await scopedUserProvider.diff?.(
      "upload-api",
      read?.props as ReturnType<typeof inputs>,
      inputs("first-secret-0123456789"),
    );
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    await scopedUserProvider.update?.(
      "upload-api",
      read?.props as ReturnType<typeof inputs>,
      inputs("first-secret-0123456789"),
    );
    const restored = await scopedUserProvider.read?.("upload-api", inputs("first-secret-0123456789"));
    expect(restored?.props).toMatchObject({ policy, owner: "storage/stack-a" });
  });

  it("rotates the secret key in place: the old one stops working, the new one works", async () => {
    const diff = await scopedUserProvider.diff?.(
      "upload-api",
      inputs("first-secret-0123456789"),
      inputs("second-secret-0123456789"),
    );
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    await scopedUserProvider.update?.(
      "upload-api",
      inputs("first-secret-0123456789"),
      inputs("second-secret-0123456789"),
    );
    // Refused for its signature, not for any other reason.
    await expect(
      asUser("first-secret-0123456789").putObject("user-uploads", "uploads/b.txt", Buffer.from("b")),
    ).rejects.toMatchObject({ code: "SignatureDoesNotMatch" });
    await asUser("second-secret-0123456789").putObject("user-uploads", "uploads/b.txt", Buffer.from("b"));
  });

  it("changes the policy in place", async () => {
    const narrower = apiAccessPolicy({
      uploadsBucket: "user-uploads",
      artifactsBucket: "workflow-artifacts",
      uploadsPrefix: "incoming/",
    });
    await scopedUserProvider.update?.(
      "upload-api",
      inputs("second-secret-0123456789"),
      inputs("second-secret-0123456789", narrower),
    );
    const user = asUser("second-secret-0123456789");
    await user.putObject("user-uploads", "incoming/c.txt", Buffer.from("c"));
    await expect(user.putObject("user-uploads", "uploads/c.txt", Buffer.from("c"))).rejects.toMatchObject({
      code: "AccessDenied",
    });
  });

  it("delete removes the user and its policy; read then reports it gone", async () => {
    await scopedUserProvider.delete?.("upload-api", inputs("second-secret-0123456789"));
    expect(await scopedUserProvider.read?.("upload-api", inputs("second-secret-0123456789"))).toEqual({});
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiAccessPolicy } from "../../../components/api-access-policy";
import type { MinioConnection } from "../../../components/providers/minio-connection";
import { scopedUserProvider } from "../../../components/providers/scoped-user";
import { clientFor, startTestMinio, type TestMinio } from "../../helpers/minio";

// The provider's operations against a real MinIO, through our own admin client.
describe("scoped user provider against a real MinIO", () => {
  let minio: TestMinio;
  let connection: MinioConnection;
  const policy = apiAccessPolicy({ uploadsBucket: "user-uploads", artifactsBucket: "workflow-artifacts" });
  const inputs = (secretKey: string, doc: object = policy) => ({
    connection,
    accessKey: "upload-api",
    secretKey,
    policyName: "upload-api",
    policy: doc,
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

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketNameProblem, bucketProvider } from "../../../components/providers/bucket";
import type { MinioConnection } from "../../../components/providers/minio-connection";
import { startTestMinio, type TestMinio } from "../../helpers/minio";

// The provider's operations against a real MinIO, called directly (the engine test runs them too).
describe("bucket provider against a real MinIO", () => {
  let minio: TestMinio;
  let connection: MinioConnection;
  const inputs = (bucket: string, extra: { versioning?: boolean; forceDestroy?: boolean } = {}) => ({
    connection,
    bucket,
    versioning: extra.versioning ?? false,
    forceDestroy: extra.forceDestroy ?? false,
    private: true,
  });

  beforeAll(async () => {
    minio = await startTestMinio();
    connection = minio.connection("hot");
  });
  afterAll(async () => minio?.stop());

  it("creates a private bucket: anonymous reads and listings are refused", async () => {
    await bucketProvider.create(inputs("private-one"));
    await minio.client("hot").putObject("private-one", "secret.txt", Buffer.from("not for you"));
    const anonymousGet = await fetch(`${connection.endpoint}/private-one/secret.txt`);
    expect(anonymousGet.status).toBe(403);
    const anonymousList = await fetch(`${connection.endpoint}/private-one?list-type=2`);
    expect(anonymousList.status).toBe(403);
  });

  it("refuses to adopt an existing bucket silently", async () => {
    await expect(bucketProvider.create(inputs("private-one"))).rejects.toThrowError(
      /bucket "private-one" already exists on http:\/\/127\.0\.0\.1:\d+ and this stack did not create it: choose another name/,
    );
  });

  it("read reports a policy added behind Pulumi's back, and update removes it", async () => {
    const policy = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: ["*"] },
          Action: ["s3:GetObject"],
          Resource: ["arn:aws:s3:::private-one/*"],
        },
      ],
    };
    await minio.client("hot").setBucketPolicy("private-one", JSON.stringify(policy));
    expect((await fetch(`${connection.endpoint}/private-one/secret.txt`)).status).toBe(200);

    const read = await bucketProvider.read?.("private-one", inputs("private-one"));
    expect(read?.props?.private).toBe(false);
    const diff = await bucketProvider.diff?.(
      "private-one",
      read?.props as ReturnType<typeof inputs>,
      inputs("private-one"),
    );
    expect(diff?.changes).toBe(true);

    await bucketProvider.update?.("private-one", read?.props as ReturnType<typeof inputs>, inputs("private-one"));
    expect((await fetch(`${connection.endpoint}/private-one/secret.txt`)).status).toBe(403);
    expect((await bucketProvider.read?.("private-one", inputs("private-one")))?.props?.private).toBe(true);
  });

  it("turns versioning on and reads it back", async () => {
    await bucketProvider.update?.("private-one", inputs("private-one"), inputs("private-one", { versioning: true }));
    const read = await bucketProvider.read?.("private-one", inputs("private-one"));
    expect(read?.props?.versioning).toBe(true);
  });

  it("delete refuses a bucket with data unless forceDestroy", async () => {
    await expect(bucketProvider.delete?.("private-one", inputs("private-one"))).rejects.toThrowError(
      'bucket "private-one" still holds objects and forceDestroy is false',
    );
    await bucketProvider.delete?.("private-one", inputs("private-one", { forceDestroy: true }));
    expect(await minio.client("hot").bucketExists("private-one")).toBe(false);
  });

  it("read of a bucket that is gone reports it gone", async () => {
    expect(await bucketProvider.read?.("private-one", inputs("private-one"))).toEqual({});
  });
});

describe("bucket names", () => {
  it("accepts S3 names and explains a bad one", () => {
    expect(bucketNameProblem("workflow-artifacts")).toBeUndefined();
    expect(bucketNameProblem("Bad_Bucket")).toMatch(/^bucket name "Bad_Bucket" is invalid/);
    expect(bucketNameProblem("ab")).toBeDefined();
    expect(bucketNameProblem("192.168.1.1")).toBeDefined();
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketNameProblem, bucketProvider } from "../../../components/providers/bucket";
import type { MinioConnection } from "../../../components/providers/minio-connection";
import { OWNER_TAG } from "../../../rules/ownership";
import { startTestMinio, type TestMinio } from "../../helpers/minio";

// The provider's operations against a real MinIO, called directly (the engine test runs them too).
describe("bucket provider against a real MinIO", () => {
  let minio: TestMinio;
  let connection: MinioConnection;
  const inputs = (
    bucket: string,
    extra: { versioning?: boolean; forceDestroy?: boolean; adoptExisting?: boolean; owner?: string } = {},
  ) => ({
    connection,
    bucket,
    versioning: extra.versioning ?? false,
    forceDestroy: extra.forceDestroy ?? false,
    adoptExisting: extra.adoptExisting ?? false,
    owner: extra.owner ?? "storage/stack-a",
    private: true,
  });
  const ownerTag = async (bucket: string) =>
    (await minio.client("hot").getBucketTagging(bucket)).find((t) => t.Key === OWNER_TAG)?.Value;

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

  it("tags what it creates with its stack, and takes its own bucket back (retained, or half-created)", async () => {
    expect(await ownerTag("private-one")).toBe("storage/stack-a");
    // What a retained bucket or an interrupted create leaves: ours by its tag, settings astray.
    await minio.client("hot").setBucketVersioning("private-one", { Status: "Enabled" });
    const again = await bucketProvider.create(inputs("private-one"));
    expect(again.id).toBe("private-one");
    expect((await minio.client("hot").getBucketVersioning("private-one"))?.Status).toBe("Suspended");
    // The data it held is still there.
    expect(await minio.client("hot").statObject("private-one", "secret.txt")).toBeDefined();
  });

  it("refuses a bucket that is not its own, saying whose it is and which option adopts it", async () => {
    await expect(bucketProvider.create(inputs("private-one", { owner: "storage/stack-b" }))).rejects.toThrowError(
      `bucket "private-one" already exists on ${connection.endpoint} and is not this stack's ` +
        '(owned by stack "storage/stack-a"): set adoptExisting to take it over with its data, or choose another name',
    );
    await minio.client("hot").makeBucket("someone-elses");
    await minio.client("hot").putObject("someone-elses", "theirs.txt", Buffer.from("theirs"));
    await expect(bucketProvider.create(inputs("someone-elses"))).rejects.toThrowError(
      "(it carries no ownership mark of this project): set adoptExisting",
    );
  });

  it("adopts a bucket when told to: tags it as its own, keeps its data and other tags", async () => {
    await minio.client("hot").setBucketTagging("someone-elses", { team: "data" });
    await bucketProvider.create(inputs("someone-elses", { adoptExisting: true }));
    const tags = await minio.client("hot").getBucketTagging("someone-elses");
    expect(Object.fromEntries(tags.map((t) => [t.Key, t.Value]))).toEqual({
      team: "data",
      [OWNER_TAG]: "storage/stack-a",
    });
    expect(await minio.client("hot").statObject("someone-elses", "theirs.txt")).toBeDefined();
    // Not deleted on destroy if another stack has taken it since.
    await minio.client("hot").setBucketTagging("someone-elses", { [OWNER_TAG]: "storage/stack-c" });
    await expect(
      bucketProvider.delete?.("someone-elses", inputs("someone-elses", { forceDestroy: true })),
    ).rejects.toThrowError('bucket "someone-elses" is now owned by stack "storage/stack-c", not this stack\'s');
    expect(await minio.client("hot").statObject("someone-elses", "theirs.txt")).toBeDefined();
  });

  it("read reports a removed ownership tag as drift, and update writes it again", async () => {
    await minio.client("hot").removeBucketTagging("private-one");
    const read = await bucketProvider.read?.("private-one", inputs("private-one"));
    expect(read?.inputs).toMatchObject({ owner: "" });
    const diff = await bucketProvider.diff?.(
      "private-one",
      read?.props as ReturnType<typeof inputs>,
      inputs("private-one"),
    );
    expect(diff?.changes).toBe(true);
    await bucketProvider.update?.("private-one", read?.props as ReturnType<typeof inputs>, inputs("private-one"));
    expect(await ownerTag("private-one")).toBe("storage/stack-a");
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

  it("delete refuses a bucket with data unless forceDestroy, saying what it holds", async () => {
    await expect(bucketProvider.delete?.("private-one", inputs("private-one"))).rejects.toThrowError(
      /^bucket "private-one" holds \d object version\(s\), e\.g\. secret\.txt.* and forceDestroy is false/,
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

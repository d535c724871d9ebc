import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { ArtifactBuckets } from "../../components/artifact-buckets";
import { find, installMocks, parentRecorder, plain, type Registered, resolvedValue, settle } from "../helpers/mocks";

const registered: Registered[] = installMocks();
const bucketType = "pulumi-nodejs:dynamic/storage:Bucket";
const connection = { endpoint: "http://127.0.0.1:19000", accessKey: "admin", secretKey: pulumi.secret("admin-secret") };

describe("ArtifactBuckets", () => {
  const recorder = parentRecorder("data");
  const retained = new Map<string, boolean | undefined>();
  let buckets: ArtifactBuckets;

  beforeAll(async () => {
    buckets = new ArtifactBuckets(
      "data",
      { connection },
      {
        transformations: [
          recorder.transformation,
          (args) => {
            retained.set(args.name, args.opts.retainOnDelete);
            return undefined;
          },
        ],
      },
    );
    new ArtifactBuckets("ci", {
      connection,
      uploadsBucket: "ci-uploads",
      artifactsBucket: "ci-artifacts",
      ephemeral: true,
    });
    await settle(registered);
  });

  it("creates the two private buckets with the default names, versioning off", async () => {
    expect(await resolvedValue(buckets.uploadsBucket)).toBe("user-uploads");
    expect(await resolvedValue(buckets.artifactsBucket)).toBe("workflow-artifacts");
    const uploads = plain(find(registered, bucketType, "data-uploads").inputs) as Record<string, unknown>;
    expect(uploads).toMatchObject({ bucket: "user-uploads", versioning: false, forceDestroy: false, private: true });
  });

  it("keeps the admin secret key secret in the bucket's inputs", () => {
    const secrets: string[] = [];
    plain(find(registered, bucketType, "data-uploads").inputs, "", secrets);
    expect(secrets).toContain("connection");
  });

  it("retains data buckets on delete and never force-destroys them, unless the stack is ephemeral", () => {
    expect(retained.get("data-uploads")).toBe(true);
    expect(retained.get("data-artifacts")).toBe(true);
    const ci = plain(find(registered, bucketType, "ci-artifacts").inputs) as Record<string, unknown>;
    expect(ci).toMatchObject({ bucket: "ci-artifacts", forceDestroy: true });
  });

  it("parents its buckets to itself", () => {
    expect([...recorder.parents]).toEqual([
      ["data-uploads", "data"],
      ["data-artifacts", "data"],
    ]);
  });
});

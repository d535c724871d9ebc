import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { ColdTier } from "../../components/cold-tier";
import { find, installMocks, parentRecorder, plain, type Registered, settle } from "../helpers/mocks";

const registered: Registered[] = installMocks();
const admin = (endpoint: string) => ({ endpoint, accessKey: "admin", secretKey: pulumi.secret("admin-secret") });
const dynamic = (type: string) => `pulumi-nodejs:dynamic/storage:${type}`;

describe("ColdTier", () => {
  const recorder = parentRecorder("archive");
  const dependencies = new Map<string, string[]>();

  beforeAll(async () => {
    new ColdTier(
      "archive",
      {
        hot: admin("http://127.0.0.1:19000"),
        cold: { kind: "minio", connection: admin("http://127.0.0.1:19001"), endpointFromHot: "http://cold:9000" },
        rules: [
          { name: "uploads", bucket: "user-uploads", transitionDays: 30, minObjectSizeBytes: 10485760 },
          { name: "artifacts", bucket: "workflow-artifacts", transitionDays: 7 },
        ],
      },
      {
        transformations: [
          recorder.transformation,
          (args) => {
            const deps = (args.opts.dependsOn ?? []) as { __name?: string }[];
            dependencies.set(
              args.name,
              [deps].flat().map((d) => d.__name ?? ""),
            );
            return undefined;
          },
        ],
      },
    );
    await settle(registered);
  });

  it("creates the cold bucket and a user scoped to that bucket only, on the cold MinIO", () => {
    const user = plain(find(registered, dynamic("ScopedUser"), "archive-user").inputs) as {
      connection: { endpoint: string };
      accessKey: string;
      policy: { Statement: { Resource: string[] }[] };
    };
    expect(user.connection.endpoint).toBe("http://127.0.0.1:19001");
    expect(user.accessKey).toBe("tier-cold-tier");
    const resources = user.policy.Statement.flatMap((s) => s.Resource);
    expect(resources.every((r) => r.startsWith("arn:aws:s3:::cold-tier"))).toBe(true);
    expect(find(registered, dynamic("Bucket"), "archive-bucket").inputs.bucket).toBe("cold-tier");
  });

  it("registers the tier on the hot MinIO, with the scoped user's credentials, after the user exists", () => {
    const tier = plain(find(registered, dynamic("MinioTier"), "archive-tier").inputs) as Record<string, unknown>;
    expect(tier).toMatchObject({ name: "COLD", type: "minio", endpoint: "http://cold:9000", bucket: "cold-tier" });
    expect((tier.connection as { endpoint: string }).endpoint).toBe("http://127.0.0.1:19000");
    expect((tier.credentials as { accessKey: string }).accessKey).toBe("tier-cold-tier");
    expect(dependencies.get("archive-tier")).toEqual(["archive-user"]);
  });

  it("writes one lifecycle per bucket, transitioning to the tier", () => {
    const uploads = plain(find(registered, dynamic("BucketLifecycle"), "archive-lifecycle-uploads").inputs);
    expect(uploads).toMatchObject({
      bucket: "user-uploads",
      tier: "COLD",
      transitionDays: 30,
      minObjectSizeBytes: 10485760,
    });
    const artifacts = plain(find(registered, dynamic("BucketLifecycle"), "archive-lifecycle-artifacts").inputs);
    expect(artifacts).toMatchObject({ bucket: "workflow-artifacts", transitionDays: 7, minObjectSizeBytes: 0 });
  });

  it("parents every child to the component", () => {
    expect(recorder.parents.size).toBe(6);
    for (const [child, parent] of recorder.parents) expect([child, parent]).toEqual([child, "archive"]);
  });
});

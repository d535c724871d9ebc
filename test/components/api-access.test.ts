import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { ApiAccess } from "../../components/api-access";
import { find, installMocks, plain, type Registered, settle } from "../helpers/mocks";

const registered: Registered[] = installMocks();
const admin = (endpoint: string) => ({ endpoint, accessKey: "admin", secretKey: pulumi.secret("admin-secret") });
const dynamic = (type: string) => `pulumi-nodejs:dynamic/storage:${type}`;

describe("ApiAccess", () => {
  let access: ApiAccess;
  beforeAll(async () => {
    access = new ApiAccess("api-access", {
      connection: admin("http://127.0.0.1:19000"),
      uploadsBucket: "user-uploads",
      artifactsBucket: "workflow-artifacts",
    });
    new ApiAccess("render-only", { uploadsBucket: "user-uploads", artifactsBucket: "workflow-artifacts" });
    await settle(registered);
  });

  it("creates the user with the policy scoped to the API's prefixes and a secret key", async () => {
    const user = plain(find(registered, dynamic("ScopedUser"), "api-access-user").inputs) as {
      accessKey: string;
      policy: { Statement: { Resource: string[] }[] };
    };
    expect(user.accessKey).toBe("upload-api");
    expect(user.policy.Statement[0]?.Resource).toEqual([
      "arn:aws:s3:::user-uploads/uploads/*",
      "arn:aws:s3:::workflow-artifacts/executions/*",
    ]);
    expect(await pulumi.isSecret(access.secretKey)).toBe(true);
  });

  it("without a connection (manifests only) generates credentials but registers no user", () => {
    expect(registered.some((r) => r.name === "render-only-secret-key")).toBe(true);
    expect(registered.some((r) => r.name === "render-only-user")).toBe(false);
  });
});

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as Minio from "minio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiAccessPolicy } from "../../components/api-access-policy";
import { clientFor, readAll, startTestMinio, type TestMinio } from "../helpers/minio";

// The policy document proven on a real MinIO: a user holding only it may do exactly what the API
// does. The user and policy are set up with `mc`, independently of our own admin client.
describe("the API's access policy on a real MinIO", () => {
  let minio: TestMinio;
  let api: Minio.Client;
  let root: Minio.Client;
  const tmp = mkdtempSync(join(tmpdir(), "wss-policy-"));

  const denied = async (action: Promise<unknown>) => {
    await expect(action).rejects.toMatchObject({ code: "AccessDenied" });
  };

  beforeAll(async () => {
    minio = await startTestMinio();
    const hot = minio.server("hot");
    root = minio.client("hot");
    for (const bucket of ["user-uploads", "workflow-artifacts", "someone-elses"]) await root.makeBucket(bucket);
    await root.putObject("someone-elses", "data.txt", Buffer.from("private"));
    await root.putObject("user-uploads", "elsewhere/data.txt", Buffer.from("not the API's"));

    const url = new URL(hot.endpoint);
    const env = {
      ...process.env,
      MC_HOST_hot: `http://${hot.accessKey}:${hot.secretKey}@${url.host}`,
      MC_CONFIG_DIR: tmp,
    };
    const mc = (...args: string[]) => execFileSync("mc", ["--quiet", ...args], { env, encoding: "utf8" });
    const policyFile = join(tmp, "policy.json");
    writeFileSync(
      policyFile,
      JSON.stringify(apiAccessPolicy({ uploadsBucket: "user-uploads", artifactsBucket: "workflow-artifacts" })),
    );
    mc("admin", "policy", "create", "hot", "upload-api", policyFile);
    mc("admin", "user", "add", "hot", "upload-api-user", "upload-api-secret-0123456789");
    mc("admin", "policy", "attach", "hot", "upload-api", "--user", "upload-api-user");
    api = clientFor({
      endpoint: hot.endpoint,
      accessKey: "upload-api-user",
      secretKey: "upload-api-secret-0123456789",
    });
  });
  afterAll(async () => {
    await minio?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("writes, reads and HEADs objects under its two prefixes", async () => {
    await api.putObject("user-uploads", "uploads/2026/11/28/id/a.txt", Buffer.from("hello"));
    await api.putObject("workflow-artifacts", "executions/run-1/result.json", Buffer.from("{}"));
    expect((await readAll(await api.getObject("user-uploads", "uploads/2026/11/28/id/a.txt"))).toString()).toBe(
      "hello",
    );
    expect((await api.statObject("workflow-artifacts", "executions/run-1/result.json")).size).toBe(2);
  });

  it("lists only its prefixes", async () => {
    const names: string[] = [];
    for await (const item of api.listObjectsV2("workflow-artifacts", "executions/run-1/", true)) names.push(item.name);
    expect(names).toEqual(["executions/run-1/result.json"]);
    await denied(
      (async () => {
        for await (const _ of api.listObjectsV2("user-uploads", "", true)) {
          // draining the listing is what triggers the request
        }
      })(),
    );
  });

  it("cannot HEAD a bucket (no prefix), which is why readiness lists its prefix instead", async () => {
    // HEAD has no body, so minio-js reports the 403 by status, not by an S3 code.
    await expect(api.bucketExists("user-uploads")).rejects.toMatchObject({
      code: expect.stringMatching(/Forbidden|AccessDenied/),
    });
  });

  it("aborts its own multipart uploads", async () => {
    const uploadId = await api.initiateNewMultipartUpload("user-uploads", "uploads/big.bin", {});
    const pending = async () =>
      (await root.listIncompleteUploadsQuery("user-uploads", "", "", "", "")).uploads.map((u) => u.uploadId);
    expect(await pending()).toContain(uploadId);
    await api.abortMultipartUpload("user-uploads", "uploads/big.bin", uploadId);
    expect(await pending()).not.toContain(uploadId);
  });

  it("writes only when nothing is there yet, given If-None-Match: * (how a save commits once)", async () => {
    const key = "executions/run-once/result.json";
    await api.putObject("workflow-artifacts", key, Buffer.from("{}"), 2, { "If-None-Match": "*" });
    await expect(
      api.putObject("workflow-artifacts", key, Buffer.from("[]"), 2, { "If-None-Match": "*" }),
    ).rejects.toMatchObject({ code: "PreconditionFailed" });
    expect((await readAll(await root.getObject("workflow-artifacts", key))).toString()).toBe("{}");
  });

  it("cannot write or read outside its prefixes, nor touch another bucket", async () => {
    await denied(api.putObject("user-uploads", "elsewhere/evil.txt", Buffer.from("x")));
    await denied(api.getObject("user-uploads", "elsewhere/data.txt"));
    await denied(api.getObject("someone-elses", "data.txt"));
    await denied(api.putObject("someone-elses", "uploads/x.txt", Buffer.from("x")));
  });

  it("cannot delete objects or buckets, nor change a bucket policy", async () => {
    await denied(api.removeObject("user-uploads", "uploads/2026/11/28/id/a.txt"));
    await denied(api.removeBucket("someone-elses"));
    await denied(api.setBucketPolicy("user-uploads", ""));
    await denied(api.makeBucket("new-bucket"));
  });
});

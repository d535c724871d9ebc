import type { PreviewResult } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLifecycle } from "../../components/providers/bucket-lifecycle";
import {
  addCannedPolicy,
  addUser,
  attachPolicies,
  cannedPolicy,
  editTierCredentials,
  listTiers,
  removeUser,
  userInfo,
} from "../../components/providers/minio-admin";
import { type EphemeralStack, type ProgramOnMinio, startProgramOnTestMinio } from "../helpers/engine";
import type { TestMinio } from "../helpers/minio";

/** One resource's part of a `preview --diff` output: its operation and its lines. */
interface DiffBlock {
  name: string;
  op: string;
  text: string;
}

/** Splits a `preview --diff` output into resource blocks (a refresh block, then the plan's block). */
function diffBlocks(stdout: string): DiffBlock[] {
  const blocks: DiffBlock[] = [];
  for (const line of stdout.split("\n")) {
    const header = /^\s*[~+-]?\s*pulumi-nodejs:dynamic\/storage:\w+: \((\w+)\)/.exec(line);
    if (header) blocks.push({ name: "", op: header[1] as string, text: "" });
    const block = blocks.at(-1);
    if (!block) continue;
    const urn = /\[urn=urn:pulumi:[^\]]*::([\w-]+)\]/.exec(line);
    if (urn && !block.name) block.name = urn[1] as string;
    else if (/^\s*(pulumi:pulumi:Stack|Resources:)/.test(line)) blocks.push({ name: "", op: "", text: "" });
    else block.text += `${line}\n`;
  }
  return blocks.filter((b) => b.name);
}

// Drift of every kind of resource the program owns, made by hand in MinIO: `preview --refresh`
// shows exactly what changed, and the next `up` puts our state back. Real servers, the real engine.
describe("drift made by hand shows in preview --refresh and up restores it", () => {
  let program: ProgramOnMinio;
  let minio: TestMinio;
  let eph: EphemeralStack;
  let preview: PreviewResult;
  let blocks: DiffBlock[] = [];

  beforeAll(async () => {
    program = await startProgramOnTestMinio();
    ({ minio, eph } = program);
    expect((await eph.stack.up()).summary.result).toBe("succeeded");

    const hot = minio.connection("hot");
    const cold = minio.connection("cold");
    const hotClient = minio.client("hot");
    // A bucket policy that opens user-uploads to anonymous reads.
    await hotClient.setBucketPolicy(
      "user-uploads",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { AWS: ["*"] },
            Action: ["s3:GetObject"],
            Resource: ["arn:aws:s3:::user-uploads/*"],
          },
        ],
      }),
    );
    // Versioning switched on for workflow-artifacts.
    await hotClient.setBucketVersioning("workflow-artifacts", { Status: "Enabled" });
    // The artifacts lifecycle replaced by an expiration rule.
    await hotClient.setBucketLifecycle("workflow-artifacts", {
      Rule: [{ ID: "by-hand", Status: "Enabled", Filter: { Prefix: "" }, Expiration: { Days: 1 } }],
    });
    // The tier switched to another cold user.
    await addCannedPolicy(cold, "outsider-rw", {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::cold-tier", "arn:aws:s3:::cold-tier/*"] },
      ],
    });
    await addUser(cold, "outsider", "outsider-secret-123");
    await attachPolicies(cold, "outsider", ["outsider-rw"]);
    await editTierCredentials(hot, "COLD", { accessKey: "outsider", secretKey: "outsider-secret-123" });
    // The API user's policy widened to everything; the tier user deleted.
    await addCannedPolicy(hot, "upload-api", {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::*"] }],
    });
    await removeUser(cold, "tier-cold-tier");

    preview = await eph.stack.preview({ refresh: true, diff: true });
    blocks = diffBlocks(preview.stdout);
  });
  afterAll(async () => program?.stop());

  const refreshed = (name: string) => blocks.find((b) => b.name === name && b.op === "refresh")?.text ?? "";
  const planned = (name: string) => blocks.find((b) => b.name === name && b.op !== "refresh");

  it("plans exactly one create and five updates, nothing replaced", () => {
    expect(preview.changeSummary).toEqual({ create: 1, update: 5, same: expect.any(Number) });
  });

  it("a bucket policy added: private false, to be put back to true", () => {
    expect(refreshed("buckets-uploads")).toMatch(/~ private\s*: true => false/);
    expect(planned("buckets-uploads")?.text).toMatch(/~ private\s*: false => true/);
  });

  it("versioning toggled: shown and to be toggled back", () => {
    expect(planned("buckets-artifacts")?.text).toMatch(/~ versioning\s*: true => false/);
  });

  it("a lifecycle replaced: the rule that is there against ours, field by field", () => {
    const text = planned("cold-tier-lifecycle-artifacts")?.text ?? "";
    expect(text).toMatch(/~ id\s*: "by-hand" => "transition"/);
    expect(text).toMatch(/- expirationDays\s*: 1/);
    expect(text).toMatch(/\+ transition\s*: \{/);
  });

  it("tier credentials changed: the access key it uses now, and an update (the secret is never shown)", () => {
    expect(refreshed("cold-tier-tier")).toMatch(/~ accessKey\s*: "tier-cold-tier" => "outsider"/);
    expect(planned("cold-tier-tier")?.op).toBe("update");
    expect(preview.stdout).not.toContain("outsider-secret-123");
  });

  it("a user deleted: to be created again", () => {
    expect(planned("cold-tier-user")?.op).toBe("create");
  });

  it("a user's policy edited: the statements that differ", () => {
    expect(planned("api-access-user")?.text).toMatch(/~ \[0\]: "s3:\*" => "s3:PutObject"/);
  });

  it("up puts every one back, and a refreshed preview is then clean", async () => {
    const up = await eph.stack.up({ refresh: true });
    expect(up.summary.resourceChanges).toMatchObject({ create: 1, update: 5 });
    const hotClient = minio.client("hot");
    await expect(hotClient.getBucketPolicy("user-uploads")).rejects.toMatchObject({ code: "NoSuchBucketPolicy" });
    expect((await hotClient.getBucketVersioning("workflow-artifacts"))?.Status).toBe("Suspended");
    expect((await readLifecycle(hotClient, "workflow-artifacts")).map((r) => r.id)).toEqual(["transition"]);
    expect((await listTiers(minio.connection("hot")))[0]?.accessKey).toBe("tier-cold-tier");
    expect((await userInfo(minio.connection("cold"), "tier-cold-tier")).policyName).toBe("tier-cold-tier");
    const apiPolicy = await cannedPolicy(minio.connection("hot"), "upload-api");
    expect(JSON.stringify(apiPolicy)).not.toContain('"s3:*"');
    expect((await eph.stack.preview({ refresh: true })).changeSummary).toEqual({ same: expect.any(Number) });
  });
});

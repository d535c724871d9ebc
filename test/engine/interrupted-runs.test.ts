import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLifecycle } from "../../components/providers/bucket-lifecycle";
import { buildDocument, documentsEqual } from "../../components/providers/lifecycle-document";
import { cannedPolicy, isMinioAdminError, listTiers, userInfo } from "../../components/providers/minio-admin";
import type { MinioConnection } from "../../components/providers/minio-connection";
import { OWNER_TAG, ownerPolicyId } from "../../rules/ownership";
import { createEphemeralStack, type EphemeralStack, externalTargetConfig } from "../helpers/engine";
import { killEngine, processesOfStack, recoverAfterKill, removeCutSidecars } from "../helpers/engine-kill";
import { type HeldRequest, type HoldingProxy, requests, startHoldingProxy } from "../helpers/holding-proxy";
import { clientFor, startTestMinio, type TestMinio } from "../helpers/minio";

const root = join(__dirname, "..", "..");
const buckets = ["user-uploads", "workflow-artifacts"];
/**
 * How a killed run is run: one resource operation at a time. With the engine's parallelism another
 * resource, created beside the one under test, could be caught half-way too, and which one would be
 * a matter of timing; one at a time, the kill point is exactly the held request.
 */
const serial = { parallel: 1 };

/** The state as the backend holds it: each resource's URN, and the operations a killed run left open. */
async function stateOf(stack: Stack): Promise<{ urns: string[]; pending: string[] }> {
  const { deployment } = await stack.exportStack();
  const resources = (deployment.resources ?? []) as { urn: string }[];
  const pending = (deployment.pending_operations ?? []) as { type: string; resource: { urn: string } }[];
  return {
    urns: resources.map((r) => r.urn),
    pending: pending.map((op) => `${op.type} ${nameOf(op.resource.urn)}`),
  };
}

/** A URN's resource name (its last part), e.g. `buckets-artifacts`. */
const nameOf = (urn: string) => urn.split("::").pop() ?? urn;

/** A MinIO user, or undefined when there is none of that name. */
async function userOrNone(connection: MinioConnection, accessKey: string) {
  return userInfo(connection, accessKey).catch((err: unknown) => {
    if (isMinioAdminError(err, "XMinioAdminNoSuchUser")) return undefined;
    throw err;
  });
}

/** A bucket's tags; none when MinIO has no tag set for it. */
async function tagsOf(minio: TestMinio, bucket: string): Promise<{ Key: string; Value: string }[]> {
  return minio
    .client("hot")
    .getBucketTagging(bucket)
    .catch((err: { code?: string }) => {
      if (err.code === "NoSuchTagSet") return [];
      throw err;
    });
}

/** The program's lifecycle for a bucket: large objects to COLD after 30 days (the config defaults). */
const plannedLifecycle = (bucket: string) =>
  buildDocument({ bucket, tier: "COLD", transitionDays: 30, prefix: "", minObjectSizeBytes: 10 * 1024 * 1024 });

// Issue #14: the engine is SIGKILLed (CLI, language host, provider plugin) at exact points of an
// `up` and of a `destroy`, and the documented recovery (README, Operations: no process left,
// `pulumi cancel`, `pulumi refresh --clear-pending-creates`, then `up` or `destroy`) must end in the
// expected state with nothing duplicated or lost. The points are exact: the engine reaches the hot
// MinIO through a proxy that holds one chosen request while the test kills the engine.
describe("interrupted runs converge: SIGKILL of the engine, then the documented recovery", () => {
  let minio: TestMinio;
  let proxy: HoldingProxy;
  let eph: EphemeralStack;
  let owner: string;

  beforeAll(async () => {
    minio = await startTestMinio();
    proxy = await startHoldingProxy(minio.server("hot").endpoint);
    // The engine reaches the hot MinIO through the proxy; the stack's clients (its public endpoint)
    // and this test's checks reach it directly. The cold MinIO is not proxied: no kill point there.
    eph = await createEphemeralStack(
      root,
      externalTargetConfig(minio, {
        "workflow-studio-storage:hotEndpoint": { value: proxy.url },
        "workflow-studio-storage:hotPublicEndpoint": { value: minio.server("hot").endpoint },
        // Destroy really deletes: the destroy scenario has something to interrupt, and each `up`
        // scenario can start from nothing.
        "workflow-studio-storage:ephemeral": { value: "true" },
      }),
    );
    owner = `workflow-studio-storage/${eph.stack.name}`;
  });
  afterAll(async () => {
    proxy?.cancelHolds();
    try {
      // A scenario that failed half-way may have left the lock or pending operations: clear them, or
      // the disposing destroy fails and leaves the stack and its servers behind.
      await eph?.stack.cancel().catch(() => undefined);
      await eph?.stack.refresh({ clearPendingCreates: true }).catch(() => undefined);
      await eph?.dispose();
    } finally {
      if (eph) rmSync(join(root, `Pulumi.${eph.stack.name}.yaml`), { force: true });
      await proxy?.close();
      await minio?.stop();
    }
  });

  /**
   * Lets `run` go until the proxy holds the request `hold` waits for, then SIGKILLs the engine and
   * cuts the held request: the run stops exactly there. Fails when the run ends without making it.
   */
  async function killWhenHeld(run: Promise<unknown>, hold: Promise<HeldRequest>) {
    const ended = run.then(
      () => ({ ended: "succeeded" }),
      (err: Error) => ({ ended: err.message }),
    );
    const first = await Promise.race([hold, ended]);
    if ("ended" in first) {
      proxy.cancelHolds();
      throw new Error(
        `the run ended before making the request it was to be killed at: ${first.ended.slice(-3000)}\n` +
          `last requests through the proxy:\n${proxy.seen.slice(-20).join("\n")}`,
      );
    }
    // The engine and its plugins are found by their environment, so "none left" later means something.
    expect(processesOfStack(eph.stack).length).toBeGreaterThan(1);
    const killed = await killEngine();
    first.drop();
    const { ended: runError } = await ended;
    return { held: first.request, runError, killed: killed.processes.map((p) => p.comm) };
  }

  /** What a killed run must have left: no process of the stack, the open operation, and the lock. */
  async function expectInterrupted(
    killedRun: { runError: string; killed: string[] },
    pendingOperation: string,
  ): Promise<void> {
    // The CLI and what it started (language host, program, provider plugin) were killed; none runs.
    expect(killedRun.runError).toContain("SIGKILL");
    expect(killedRun.killed).toContain("pulumi");
    expect(killedRun.killed.length).toBeGreaterThanOrEqual(3);
    expect(processesOfStack(eph.stack)).toEqual([]);
    // The README's first recovery step for a file backend: a sidecar the kill cut is removed.
    removeCutSidecars(eph.backendDir);
    expect((await stateOf(eph.stack)).pending).toContain(pendingOperation);
    // The killed run's lock is still there: nothing runs until `pulumi cancel` clears it.
    await expect(eph.stack.up()).rejects.toThrow(/the stack is currently locked/);
  }

  /** Each resource in the state exactly once, nothing left open, and MinIO as the program says. */
  async function expectConverged(): Promise<void> {
    const { urns, pending } = await stateOf(eph.stack);
    expect(pending).toEqual([]);
    expect(urns.length).toBeGreaterThan(10);
    expect(new Set(urns).size).toBe(urns.length);
    // Read back from MinIO, then compared with the program: nothing to create, update or replace.
    const preview = await eph.stack.preview({ refresh: true });
    expect(Object.keys(preview.changeSummary)).toEqual(["same"]);
  }

  /** Each `up` scenario starts from nothing: the previous scenario's stack destroyed, MinIO empty. */
  async function startFromNothing(): Promise<void> {
    if ((await stateOf(eph.stack)).urns.length > 0) {
      expect((await eph.stack.destroy()).summary.result).toBe("succeeded");
    }
    expect(await minio.client("hot").listBuckets()).toEqual([]);
    expect(await listTiers(minio.connection("hot"))).toEqual([]);
    expect(await userOrNone(minio.connection("hot"), "upload-api")).toBeUndefined();
  }

  /** The key pair the stack reports is the one MinIO holds, with the API's policy and no more. */
  async function expectApiCredentialsWork(): Promise<void> {
    const outputs = await eph.stack.outputs();
    const api = clientFor({
      endpoint: minio.server("hot").endpoint,
      accessKey: String(outputs.apiAccessKey?.value),
      secretKey: String(outputs.apiSecretKey?.value),
    });
    await api.putObject("user-uploads", "uploads/after-recovery.txt", Buffer.from("the state's key works"));
    await expect(api.putObject("user-uploads", "elsewhere.txt", Buffer.from("x"))).rejects.toMatchObject({
      code: "AccessDenied",
    });
  }

  async function expectLifecycles(): Promise<void> {
    for (const bucket of buckets) {
      expect(documentsEqual(await readLifecycle(minio.client("hot"), bucket), plannedLifecycle(bucket))).toBe(true);
    }
  }

  it("up killed right after a bucket was made and tagged: locked, its create pending, the bucket tagged ours", async () => {
    await startFromNothing();
    // Bucket create: exists?, make, tag, then read versioning and remove any policy. Killed at the read.
    const killed = await killWhenHeld(
      eph.stack.up(serial),
      proxy.holdNext(requests.bucketSubresource("GET", "workflow-artifacts", "versioning")),
    );
    await expectInterrupted(killed, "creating buckets-artifacts");
    // The killed create had made the bucket and tagged it: only the tag says whose it is.
    expect(await tagsOf(minio, "workflow-artifacts")).toEqual([{ Key: OWNER_TAG, Value: owner }]);

    expect((await recoverAfterKill(eph.stack, eph.backendDir)).summary.result).toBe("succeeded");
    expect((await stateOf(eph.stack)).pending).toEqual([]);
  });

  // The README's `pulumi up --yes` previews first (the Automation API does not): the preview must
  // pass while the tier is not made yet (it once failed, looking the tier up in check).
  it("...then `pulumi up --yes`, as the README writes it (with its preview), goes through", async () => {
    // Asynchronously: the proxy the engine goes through runs in this process.
    const cli = await promisify(execFile)("pulumi", ["up", "--yes", "--non-interactive", "--stack", eph.stack.name], {
      cwd: root,
      env: { ...process.env, ...eph.env },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { stdout?: string }) => ({ stdout: `failed: ${err.stdout ?? ""}` }));
    expect(cli.stdout).not.toMatch(/^failed/);
  });

  it("...and `up` takes the bucket back: each bucket once, private, ours; nothing left to change", async () => {
    const hot = minio.client("hot");
    expect((await eph.stack.up()).summary.result).toBe("succeeded");

    expect((await hot.listBuckets()).map((b) => b.name).sort()).toEqual(buckets);
    for (const bucket of buckets) {
      await expect(hot.getBucketPolicy(bucket)).rejects.toMatchObject({ code: "NoSuchBucketPolicy" });
      expect(await tagsOf(minio, bucket)).toEqual([{ Key: OWNER_TAG, Value: owner }]);
      const anonymous = await fetch(`${minio.server("hot").endpoint}/${bucket}?list-type=2`);
      expect(anonymous.status).toBe(403);
    }
    await expectConverged();
  });

  it("up killed between making a bucket and tagging it: refused as not ours, adoptExisting takes it (README)", async () => {
    await startFromNothing();
    const killed = await killWhenHeld(
      eph.stack.up(serial),
      proxy.holdNext(requests.bucketSubresource("PUT", "workflow-artifacts", "tagging")),
    );
    await expectInterrupted(killed, "creating buckets-artifacts");
    // The one-request window the README names: a bucket with no mark of whose it is.
    expect(await minio.client("hot").bucketExists("workflow-artifacts")).toBe(true);
    expect(await tagsOf(minio, "workflow-artifacts")).toEqual([]);
    expect((await recoverAfterKill(eph.stack, eph.backendDir)).summary.result).toBe("succeeded");

    const refused = await eph.stack.up().then(
      () => "succeeded",
      (err: Error) => err.message,
    );
    expect(refused).toContain(
      `bucket "workflow-artifacts" already exists on ${proxy.url} and is not this stack's (it carries no ownership mark of this project): set adoptExisting`,
    );
    await eph.stack.setConfig("workflow-studio-storage:adoptExisting", { value: "true" });
    expect((await eph.stack.up()).summary.result).toBe("succeeded");
    await eph.stack.removeConfig("workflow-studio-storage:adoptExisting");
    expect((await eph.stack.up()).summary.result).toBe("succeeded");

    expect(await tagsOf(minio, "workflow-artifacts")).toEqual([{ Key: OWNER_TAG, Value: owner }]);
    await expectConverged();
  });

  it("up killed as the API user is added (its policy written): the user ends with exactly its policy, the state's key works", async () => {
    const hot = minio.connection("hot");
    await startFromNothing();
    // ScopedUser create: the canned policy (its ID names the owner), then add-user, then attach.
    const killed = await killWhenHeld(
      eph.stack.up(serial),
      proxy.holdNext(requests.admin("PUT", "add-user", { accessKey: "upload-api" })),
    );
    await expectInterrupted(killed, "creating api-access-user");
    expect((await cannedPolicy(hot, "upload-api"))?.ID).toBe(ownerPolicyId(owner));
    expect(await userOrNone(hot, "upload-api")).toBeUndefined();

    expect((await recoverAfterKill(eph.stack, eph.backendDir)).summary.result).toBe("succeeded");
    expect((await eph.stack.up()).summary.result).toBe("succeeded");

    expect(await userOrNone(hot, "upload-api")).toMatchObject({ status: "enabled", policyName: "upload-api" });
    expect((await cannedPolicy(hot, "upload-api"))?.ID).toBe(ownerPolicyId(owner));
    await expectApiCredentialsWork();
    await expectConverged();
  });

  it("up killed between adding the API user and attaching its policy: the user exists, without a policy", async () => {
    const hot = minio.connection("hot");
    await startFromNothing();
    // Only the hot MinIO is proxied, so the one attach it sees is the API user's (the body is encrypted).
    const killed = await killWhenHeld(
      eph.stack.up(serial),
      proxy.holdNext(requests.admin("POST", "idp/builtin/policy/attach")),
    );
    await expectInterrupted(killed, "creating api-access-user");
    const found = await userOrNone(hot, "upload-api");
    expect(found?.status).toBe("enabled");
    expect(found?.policyName ?? "").toBe("");
    expect((await cannedPolicy(hot, "upload-api"))?.ID).toBe(ownerPolicyId(owner));
    expect((await recoverAfterKill(eph.stack, eph.backendDir)).summary.result).toBe("succeeded");
    expect((await stateOf(eph.stack)).pending).toEqual([]);
  });

  // A user with no policy next to our own policy is what this interruption leaves: ours (it was once
  // refused as "attached elsewhere", leaving the user and its policy outside the state).
  it("...and the next up takes that user back: it ends with exactly its policy, the state's key works", async () => {
    const hot = minio.connection("hot");
    expect((await eph.stack.up()).summary.result).toBe("succeeded");
    expect(await userOrNone(hot, "upload-api")).toMatchObject({ status: "enabled", policyName: "upload-api" });
    await expectApiCredentialsWork();
    await expectConverged();
  });

  it("up killed after MinIO added the tier, before the engine knew: the next up recognises it as ours", async () => {
    await startFromNothing();
    const killed = await killWhenHeld(
      eph.stack.up(serial),
      proxy.holdNext(requests.admin("PUT", "tier"), { reachServer: true }),
    );
    await expectInterrupted(killed, "creating cold-tier-tier");
    const tiers = async () => (await listTiers(minio.connection("hot"))).map((t) => [t.name, t.accessKey]);
    expect(await tiers()).toEqual([["COLD", "tier-cold-tier"]]);

    expect((await recoverAfterKill(eph.stack, eph.backendDir)).summary.result).toBe("succeeded");
    expect((await eph.stack.up()).summary.result).toBe("succeeded");

    // One tier, holding the keys of the cold user the state holds (the refresh verifies them).
    expect(await tiers()).toEqual([["COLD", "tier-cold-tier"]]);
    await expectLifecycles();
    await expectConverged();
  });

  it("up killed after MinIO took a lifecycle, before the engine knew: the next up accepts it, documents as planned", async () => {
    await startFromNothing();
    const killed = await killWhenHeld(
      eph.stack.up(serial),
      proxy.holdNext((r) => r.method === "PUT" && r.query.has("lifecycle"), { reachServer: true }),
    );
    const bucket = killed.held.path.slice(1);
    const resource = bucket === "user-uploads" ? "cold-tier-lifecycle-uploads" : "cold-tier-lifecycle-artifacts";
    await expectInterrupted(killed, `creating ${resource}`);
    expect(documentsEqual(await readLifecycle(minio.client("hot"), bucket), plannedLifecycle(bucket))).toBe(true);

    expect((await recoverAfterKill(eph.stack, eph.backendDir)).summary.result).toBe("succeeded");
    expect((await eph.stack.up()).summary.result).toBe("succeeded");

    await expectLifecycles();
    await expectConverged();
  });

  it("destroy killed as it removes an emptied bucket: the recovered destroy leaves nothing", async () => {
    const hot = minio.client("hot");
    // From the stack the previous scenario left up, with data in both buckets.
    expect((await stateOf(eph.stack)).urns.map(nameOf)).toContain("buckets-uploads");
    await hot.putObject("user-uploads", "uploads/a/report.txt", Buffer.from("uploaded"));
    await hot.putObject("workflow-artifacts", "executions/e1/result.json", Buffer.from('{"ok":true}'));

    // Bucket delete with forceDestroy: empty it, then DELETE /bucket. Killed at that DELETE.
    const killed = await killWhenHeld(
      eph.stack.destroy(serial),
      proxy.holdNext(requests.bucketRemoval("user-uploads")),
    );
    await expectInterrupted(killed, "deleting buckets-uploads");
    expect(await hot.bucketExists("user-uploads")).toBe(true);
    expect(await hot.listObjectsV2("user-uploads", "", true).toArray()).toEqual([]);

    expect((await recoverAfterKill(eph.stack, eph.backendDir)).summary.result).toBe("succeeded");
    expect((await stateOf(eph.stack)).pending).toEqual([]);
    expect((await eph.stack.destroy()).summary.result).toBe("succeeded");

    expect(await stateOf(eph.stack)).toEqual({ urns: [], pending: [] });
    expect(await hot.listBuckets()).toEqual([]);
    expect(await minio.client("cold").listBuckets()).toEqual([]);
    expect(await listTiers(minio.connection("hot"))).toEqual([]);
    for (const [server, user] of [
      ["hot", "upload-api"],
      ["cold", "tier-cold-tier"],
    ] as const) {
      expect(await userOrNone(minio.connection(server), user)).toBeUndefined();
      expect(await cannedPolicy(minio.connection(server), user)).toBeUndefined();
    }
  });
});

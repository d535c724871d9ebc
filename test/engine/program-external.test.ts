import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listTiers } from "../../components/providers/minio-admin";
import { parseApiKeys } from "../../rules/api-keys";
import { freePort } from "../../scripts/local-minio.mts";
import { apiEnvironmentFromOutputs, type StackOutputs } from "../../scripts/local-stack.mts";
import { type EphemeralStack, PROJECT_ROOT, type ProgramOnMinio, startProgramOnTestMinio } from "../helpers/engine";
import { clientFor, type TestMinio } from "../helpers/minio";

const root = PROJECT_ROOT;

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const hostUrl = (s: { endpoint: string; accessKey: string; secretKey: string }) =>
  `http://${s.accessKey}:${s.secretKey}@${new URL(s.endpoint).host}`;

// The project's own program, target `external`, against real hot and cold MinIO servers, through
// the real CLI: up, check from outside, preview clean, change one value, destroy.
describe("the program, external target, through the real engine", () => {
  let program: ProgramOnMinio;
  let minio: TestMinio;
  let eph: EphemeralStack;

  beforeAll(async () => {
    program = await startProgramOnTestMinio();
    ({ minio, eph } = program);
  });
  afterAll(async () => program?.stop());

  it("a new stack previews cleanly before its first up (as `pulumi up` previews first)", async () => {
    const preview = await eph.stack.preview();
    expect(preview.changeSummary.create).toBeGreaterThan(0);
    expect(Object.keys(preview.changeSummary).sort()).toEqual(["create"]);
  });

  it("goes up and creates the two buckets, private", async () => {
    const up = await eph.stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.uploadsBucket?.value).toBe("user-uploads");
    expect(up.outputs.artifactsBucket?.value).toBe("workflow-artifacts");
    for (const bucket of ["user-uploads", "workflow-artifacts"]) {
      expect(await minio.client("hot").bucketExists(bucket)).toBe(true);
      const anonymous = await fetch(`${minio.server("hot").endpoint}/${bucket}?list-type=2`);
      expect(anonymous.status).toBe(403);
    }
  });

  it("registers the cold tier and gives each bucket the transition rule with the size filter", async () => {
    const hot = minio.server("hot");
    const tiers = JSON.parse(
      execFileSync("mc", ["--quiet", "admin", "tier", "ls", "hot", "--json"], {
        env: { ...process.env, MC_HOST_hot: hostUrl(hot) },
        encoding: "utf8",
      })
        .trim()
        .split("\n")[0] as string,
    );
    expect(JSON.stringify(tiers)).toContain('"COLD"');
    // The hot MinIO holds the restricted cold-side user's keys for the tier, never the cold root's.
    const registered = await listTiers(minio.connection("hot"));
    expect(registered.map((t) => [t.name, t.accessKey])).toEqual([["COLD", "tier-cold-tier"]]);
    expect(JSON.stringify(registered)).not.toContain(minio.server("cold").accessKey);
    for (const bucket of ["user-uploads", "workflow-artifacts"]) {
      const lifecycle = await minio.client("hot").getBucketLifecycle(bucket);
      const rules = [lifecycle?.Rule].flat();
      expect(rules).toContainEqual(
        expect.objectContaining({
          Status: "Enabled",
          Transition: expect.objectContaining({ Days: 30, StorageClass: "COLD" }),
        }),
      );
      expect(JSON.stringify(rules)).toContain("10485760");
    }
  });

  it("gives the API least-privilege credentials, as secret outputs", async () => {
    const outputs = await eph.stack.outputs();
    expect(outputs.apiSecretKey?.secret).toBe(true);
    expect(outputs.apiBearerKeys?.secret).toBe(true);
    expect(outputs.apiAccessKey).toEqual({ value: "upload-api", secret: false });
    const api = clientFor({
      endpoint: minio.server("hot").endpoint,
      accessKey: String(outputs.apiAccessKey?.value),
      secretKey: String(outputs.apiSecretKey?.value),
    });
    await api.putObject("user-uploads", "uploads/engine-test.txt", Buffer.from("from the API's identity"));
    await expect(api.removeBucket("workflow-artifacts")).rejects.toMatchObject({ code: "AccessDenied" });
    await expect(api.setBucketPolicy("user-uploads", "")).rejects.toMatchObject({ code: "AccessDenied" });
    await expect(api.putObject("user-uploads", "elsewhere.txt", Buffer.from("x"))).rejects.toMatchObject({
      code: "AccessDenied",
    });
    await minio.client("hot").makeBucket("someone-elses");
    await minio.client("hot").putObject("someone-elses", "uploads/private.txt", Buffer.from("not the API's"));
    await expect(api.getObject("someone-elses", "uploads/private.txt")).rejects.toMatchObject({ code: "AccessDenied" });
    await minio.client("hot").removeObject("someone-elses", "uploads/private.txt");
    await minio.client("hot").removeBucket("someone-elses");
  });

  it("runs the API from the stack's outputs: an upload's download_url works with a plain HTTP client", async () => {
    const outputs = Object.fromEntries(
      Object.entries(await eph.stack.outputs()).map(([key, output]) => [key, output.value]),
    ) as unknown as StackOutputs;
    // apiBearerKeys is the API_KEYS JSON; the generated one holds a single key with every scope.
    const { keys, problems } = parseApiKeys(outputs.apiBearerKeys);
    expect(problems).toEqual([]);
    expect(keys.map((k) => k.name)).toEqual(["default"]);
    const key = keys[0]?.key;
    expect(outputs.apiSettings).toMatchObject({
      PORT: "18080",
      METRICS_PORT: "18081",
      MINIO_REGION: "us-east-1",
      MAX_CONCURRENT_UPLOADS: "16",
    });
    const port = await freePort();
    let metricsPort = await freePort();
    while (metricsPort === port) metricsPort = await freePort();
    // Free ports instead of the stack's fixed local ones, so a running `npm run local` is no obstacle.
    const api = spawn(process.execPath, [join(root, "dist", "api", "server.js")], {
      env: {
        PATH: process.env.PATH ?? "",
        ...apiEnvironmentFromOutputs(outputs),
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
      },
      stdio: "ignore",
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true);
      const form = new FormData();
      form.append("file", new Blob(["engine to API to MinIO"], { type: "text/plain" }), "hello report.txt");
      const upload = await fetch(`${url}/upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
        body: form,
      });
      expect(upload.status).toBe(200);
      const answer = (await upload.json()) as { download_url: string; filename: string };
      expect(answer.filename).toBe("hello report.txt");
      const download = await fetch(answer.download_url);
      expect(await download.text()).toBe("engine to API to MinIO");
      expect(download.headers.get("content-disposition")).toContain("hello report.txt");
      // The same object without the signature: refused, the bucket is private.
      const anonymous = await fetch(answer.download_url.split("?")[0] as string);
      expect(anonymous.status).toBe(403);
    } finally {
      api.kill("SIGTERM");
    }
  });

  it("keeps the MinIO secret keys out of the state in clear", () => {
    const state = eph.backendText();
    expect(state).not.toContain(minio.server("hot").secretKey);
    expect(state).not.toContain(minio.server("cold").secretKey);
    expect(state).not.toMatch(/"apiSecretKey":\s*"[A-Za-z0-9_-]{40}"/);
  });

  it("a second preview shows no changes", async () => {
    const preview = await eph.stack.preview();
    expect(Object.keys(preview.changeSummary)).toEqual(["same"]);
  });

  it("a config change previews exactly the expected updates, and up applies them", async () => {
    await eph.stack.setConfig("workflow-studio-storage:bucketVersioning", { value: "true" });

    // The pull request view of the same change: exactly the two buckets, no secret in it.
    const markdown = execFileSync(
      "node",
      [join(root, "scripts", "preview-diff.mts"), "--stack", eph.stack.name, "--cwd", root],
      { env: { ...process.env, ...eph.env }, encoding: "utf8" },
    );
    expect(markdown).toContain("| update | 2 |");
    expect(markdown).toMatch(/- \*\*update\*\* `pulumi-nodejs:dynamic\/storage:Bucket` \*\*buckets-uploads\*\*/);
    expect(markdown).toContain("`versioning` (update): `false` → `true`");
    expect(markdown).not.toContain(minio.server("hot").secretKey);

    const preview = await eph.stack.preview();
    expect(preview.changeSummary.update).toBe(2);
    expect(Object.keys(preview.changeSummary).sort()).toEqual(["same", "update"]);
    const up = await eph.stack.up();
    expect(up.summary.resourceChanges?.update).toBe(2);
    const versioning = await minio.client("hot").getBucketVersioning("workflow-artifacts");
    expect(versioning?.Status).toBe("Enabled");
  });

  it("a change of a secret shows in the pull request view without its value", async () => {
    const key = "rotated-key-in-a-preview-0123456789";
    await eph.stack.setConfig("workflow-studio-storage:apiKeys", {
      value: JSON.stringify([{ name: "studio", key, scopes: ["upload"] }]),
      secret: true,
    });
    try {
      const markdown = execFileSync(
        "node",
        [join(root, "scripts", "preview-diff.mts"), "--stack", eph.stack.name, "--cwd", root],
        { env: { ...process.env, ...eph.env }, encoding: "utf8" },
      );
      const preview = await eph.stack.preview({ diff: true });
      // The change is there (the generated key gives way to the configured one)...
      expect(markdown).toMatch(/- \*\*delete\*\* `pulumi-nodejs:dynamic\/storage:GeneratedSecret` \*\*api-key\*\*/);
      expect(preview.stdout).toContain("GeneratedSecret: (delete)");
      // ...and the secret nowhere: not in the PR view, not in the engine's own diff.
      expect(markdown).not.toContain(key);
      expect(preview.stdout).not.toContain(key);
    } finally {
      await eph.stack.removeConfig("workflow-studio-storage:apiKeys");
    }
  });

  it("refuses bad configuration before creating anything, naming the key", async () => {
    await eph.stack.setConfig("workflow-studio-storage:transitionDays", { value: "-5" });
    await expect(eph.stack.preview()).rejects.toThrowError(
      /workflow-studio-storage:transitionDays: "-5" is not valid; allowed: an integer from 0 to 36500/,
    );
    await eph.stack.removeConfig("workflow-studio-storage:transitionDays");
  });

  it("destroy removes the buckets of an ephemeral stack", async () => {
    const destroyed = await eph.stack.destroy();
    expect(destroyed.summary.result).toBe("succeeded");
    expect(await minio.client("hot").bucketExists("user-uploads")).toBe(false);
    expect(await minio.client("hot").bucketExists("workflow-artifacts")).toBe(false);
    const tiers = execFileSync("mc", ["--quiet", "admin", "tier", "ls", "hot", "--json"], {
      env: { ...process.env, MC_HOST_hot: hostUrl(minio.server("hot")) },
      encoding: "utf8",
    });
    expect(tiers).not.toContain('"COLD"');
  });
});

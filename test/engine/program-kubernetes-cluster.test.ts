import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as Minio from "minio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { clusterPaths, NODE_IP } from "../../scripts/cluster/layout.mts";
import { clusterTargetSettings, type NodePorts } from "../../scripts/cluster-target.mts";
import { toConfigMap } from "../../scripts/external-target.mts";
import { exampleApiKey, type StackOutputs } from "../../scripts/local-stack.mts";
import { type TestCluster, useCluster } from "../helpers/cluster";
import { createEphemeralStack, type EphemeralStack, PROJECT_ROOT } from "../helpers/engine";
import { waitFor } from "../helpers/wait";

// Ports of its own, so a developer's local kubernetes stack on the same cluster is left alone.
const PORTS: NodePorts = { hot: 31900, cold: 31901, api: 31980 };
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

// biome-ignore lint/suspicious/noExplicitAny: kubectl's JSON is untyped
type Json = any;

// The fourth layer: the kubernetes target applied for real, on a single-node cluster with real
// containers (npm run cluster), every workload awaited through its real probes.
describe("the program, kubernetes target, on a real cluster", () => {
  let cluster: TestCluster;
  let eph: EphemeralStack;
  let outputs: StackOutputs & { tierName: string };
  let key: string;
  const namespace = `wss-k8s-${randomBytes(3).toString("hex")}`;
  const work = mkdtempSync(join(tmpdir(), "wss-k8s-"));
  const bundle = join(work, "server.js");
  const api = `http://${NODE_IP}:${PORTS.api}`;
  const kubectlJson = async (args: string[]): Promise<Json> =>
    JSON.parse(await cluster.kubectl([...args, "-o", "json"]));
  /** The pods of a selector, leaving out those already terminating (a rollout's old ones, still draining). */
  const pods = async (selector: string): Promise<Json[]> =>
    (await kubectlJson(["get", "pods", "-n", namespace, "-l", selector])).items.filter(
      (p: Json) => !p.metadata.deletionTimestamp,
    );
  const root = async (name: "hot" | "cold") => {
    const secrets: Json[] = (await kubectlJson(["get", "secrets", "-n", namespace])).items;
    const secret = secrets.find((s) => s.metadata.name.startsWith(`${name}-root`));
    const field = (k: string) => Buffer.from(secret.data[k], "base64").toString();
    return new Minio.Client({
      endPoint: NODE_IP,
      port: PORTS[name],
      useSSL: false,
      accessKey: field("MINIO_ROOT_USER"),
      secretKey: field("MINIO_ROOT_PASSWORD"),
    });
  };
  const upload = async (name: string, data: Buffer): Promise<Json> => {
    const form = new FormData();
    form.append("file", new Blob([data]), name);
    const res = await fetch(`${api}/v1/uploads`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
    return res.json();
  };

  beforeAll(async () => {
    cluster = await useCluster();
    copyFileSync(join(PROJECT_ROOT, "dist", "api", "server.js"), bundle);
    const settings = clusterTargetSettings({ namespace, nodePorts: PORTS, apiBundlePath: bundle, transitionDays: 0 });
    const config = toConfigMap(settings, {
      "workflow-studio-storage:apiReplicas": { value: "2" },
      "workflow-studio-storage:ephemeral": { value: "true" },
      "workflow-studio-storage:transitionMinSizeBytes": { value: "1048576" },
    });
    eph = await createEphemeralStack(PROJECT_ROOT, config, { KUBECONFIG: cluster.kubeconfig });
  }, 600_000);
  afterAll(async () => {
    try {
      await eph?.dispose();
    } finally {
      rmSync(work, { recursive: true, force: true });
      await cluster?.release();
    }
  }, 600_000);

  it("goes up with every workload awaited: 4 hot MinIO pods, the cold one, 2 API pods, all Ready", async () => {
    const up = await eph.stack.up();
    expect(up.summary.result).toBe("succeeded");
    outputs = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value])) as typeof outputs;
    key = exampleApiKey(outputs);
    const all: Json[] = (await kubectlJson(["get", "pods", "-n", namespace])).items;
    const ready = (p: Json) => p.status.conditions?.some((c: Json) => c.type === "Ready" && c.status === "True");
    expect(all.filter(ready).length).toBe(all.length);
    expect(all.length).toBe(4 + 1 + 2);
  });

  it("an upload through the API pods and a download through its presigned link give the same bytes", async () => {
    const data = randomBytes(300 * 1024);
    const answer = await upload("same-bytes.bin", data);
    expect(new URL(answer.download_url).host).toBe(`${NODE_IP}:${PORTS.hot}`);
    const download = await fetch(answer.download_url);
    expect(download.status).toBe(200);
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(data));
  });

  it("a large object moves to the cold MinIO pod under a 0-day rule: storage class = the tier's name", async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const answer = await upload("large.bin", data);
    const hot = await root("hot");
    const tier = outputs.tierName;
    await waitFor("the object to move to the cold tier", async () => {
      const stat = await hot.statObject(answer.bucket, answer.file_path);
      return stat.metaData["x-amz-storage-class"] === tier || (stat as Json).storageClass === tier ? true : undefined;
    });
    const cold = await root("cold");
    const names: string[] = [];
    for (const bucket of await cold.listBuckets()) {
      for await (const item of cold.listObjects(bucket.name, "", true)) if (item.name) names.push(item.name);
    }
    expect(names.length).toBeGreaterThan(0);
    // And it still downloads, through the hot MinIO, with the same bytes.
    const download = await fetch(answer.download_url);
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(data));
  });

  it("a second preview shows no changes", async () => {
    const preview = await eph.stack.preview({ diff: true });
    const changed = Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
    expect(changed).toEqual([]);
  });

  it("a bundle change rolls the API Deployment and nothing else", async () => {
    const minioBefore = (await pods("app.kubernetes.io/name=minio")).map((p) => p.metadata.uid).sort();
    const apiBefore = (await pods("app.kubernetes.io/name=upload-api")).map((p) => p.metadata.uid);
    writeFileSync(bundle, `${readFileSync(bundle, "utf8")}\n// changed\n`);
    const preview = await eph.stack.preview({ diff: true });
    // The resources the plan touches, by type and name, from the preview's own lines ("~ type name update").
    // Each step's header ("+-kubernetes:core/v1:ConfigMap: (replace)") and the name its URN ends with.
    const step = /^ {4}(?:\+-|~|\+|-)\s?(\S+): \((\w+)\)\n(?:\s+\[id=[^\]]*\]\n)?\s+\[urn=[^\]]*::([^:\]]+)\]/gm;
    const touched = [...preview.stdout.matchAll(step)].map((m) => `${m[1]} ${m[3]} ${m[2]}`).sort();
    expect(touched, preview.stdout.replace(/"H4sI[^"]*"/g, '"<bundle>"').slice(0, 4000)).toEqual([
      "kubernetes:apps/v1:Deployment upload-api-deployment update",
      "kubernetes:core/v1:ConfigMap upload-api-bundle replace",
    ]);
    const up = await eph.stack.up();
    expect(up.summary.result).toBe("succeeded");
    const apiAfter = await pods("app.kubernetes.io/name=upload-api");
    expect(apiAfter.length).toBe(2);
    for (const pod of apiAfter) expect(apiBefore).not.toContain(pod.metadata.uid);
    expect((await pods("app.kubernetes.io/name=minio")).map((p) => p.metadata.uid).sort()).toEqual(minioBefore);
  });

  it("deleting a hot MinIO pod while uploads run loses no acknowledged upload", async () => {
    const acknowledged: { answer: Json; digest: string }[] = [];
    const refused: number[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop && i < 400; i += 1) {
        const data = randomBytes(64 * 1024 + i);
        try {
          acknowledged.push({ answer: await upload(`w${w}-${i}.bin`, data), digest: sha256(data) });
        } catch {
          refused.push(i);
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await new Promise((r) => setTimeout(r, 2000));
    const [victim] = await pods("app.kubernetes.io/instance=hot");
    await cluster.kubectl(["delete", "pod", "-n", namespace, victim.metadata.name, "--wait=false"]);
    await waitFor(
      "the deleted pod to come back Ready",
      async () => {
        const back = (await pods("app.kubernetes.io/instance=hot")).find(
          (p) => p.metadata.name === victim.metadata.name,
        );
        const isNew = back && back.metadata.uid !== victim.metadata.uid;
        return isNew && back.status.conditions?.some((c: Json) => c.type === "Ready" && c.status === "True")
          ? true
          : undefined;
      },
      120_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await Promise.all(workers);
    expect(acknowledged.length).toBeGreaterThan(10);
    // Read back once MinIO reports the whole cluster healthy again (all four drives, write quorum).
    await waitFor("the hot MinIO to report its cluster healthy", async () =>
      (await fetch(`http://${NODE_IP}:${PORTS.hot}/minio/health/cluster`)).ok ? true : undefined,
    );
    const hot = await root("hot");
    // An object MinIO acknowledged but does not show yet is asked for again for up to 30 s, and
    // reported: seen once in CI right after the pod came back (NoSuchKey). Not there then: lost.
    const late: string[] = [];
    for (const { answer, digest } of acknowledged) {
      const started = Date.now();
      const body = await waitFor(
        `${answer.file_path} to be readable`,
        async () => {
          try {
            const chunks: Buffer[] = [];
            for await (const c of await hot.getObject(answer.bucket, answer.file_path)) chunks.push(c as Buffer);
            return Buffer.concat(chunks);
          } catch (err) {
            if ((err as { code?: string }).code !== "NoSuchKey") throw err;
            return undefined;
          }
        },
        30_000,
      );
      if (Date.now() - started > 1000) late.push(`${answer.file_path} after ${Date.now() - started} ms`);
      expect(sha256(body), answer.file_path).toBe(digest);
    }
    console.log(
      `pod deleted under load: ${acknowledged.length} acknowledged (all read back), ${refused.length} refused; ` +
        `readable only after a wait: ${late.length ? late.join(", ") : "none"}`,
    );
  });

  it("the dev stack's manifests, rendered (renderYamlTo), pass the API server's own checks (--server-side --dry-run=server)", async () => {
    // Pulumi.dev.yaml as committed, distributed, rendered into a folder of this test's own.
    const dev = parse(readFileSync(join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8")).config as Record<string, unknown>;
    const renderNamespace = `${namespace}-render`;
    const out = join(work, "manifests");
    const render = await createEphemeralStack(
      PROJECT_ROOT,
      toConfigMap([], {
        ...Object.fromEntries(Object.entries(dev).map(([k, v]) => [k, { value: String(v) }])),
        "workflow-studio-storage:namespace": { value: renderNamespace },
        "workflow-studio-storage:minioMode": { value: "distributed" },
        "workflow-studio-storage:minioReplicas": { value: "4" },
        "workflow-studio-storage:renderYamlTo": { value: out },
      }),
    );
    // Namespaced objects are checked against a namespace that exists; it is made for real, then removed.
    await cluster.kubectl(["create", "namespace", renderNamespace]);
    try {
      expect((await render.stack.up()).summary.result).toBe("succeeded");
      const applied = await cluster.kubectl(["apply", "--server-side", "--dry-run=server", "--recursive", "-f", out]);
      const kinds = new Set(
        applied
          .split("\n")
          .filter(Boolean)
          .map((line) => line.split("/")[0]),
      );
      for (const kind of [
        "statefulset.apps",
        "deployment.apps",
        "ingress.networking.k8s.io",
        "networkpolicy.networking.k8s.io",
      ]) {
        expect(kinds).toContain(kind);
      }
      expect(applied).toMatch(/serverside-applied \(server dry run\)/);
    } finally {
      // Destroying a render stack deletes the rendered files: only after they were applied.
      await render.dispose();
      await cluster.kubectl(["delete", "namespace", renderNamespace, "--wait=false"]);
    }
  });

  it("destroy leaves nothing behind: no namespace, no volume", async () => {
    const destroyed = await eph.stack.destroy();
    expect(destroyed.summary.result).toBe("succeeded");
    await waitFor(
      "the namespace to be gone",
      async () => {
        const names: Json[] = (await kubectlJson(["get", "namespaces"])).items;
        return names.some((n) => n.metadata.name === namespace) ? undefined : true;
      },
      180_000,
    );
    await waitFor(
      "the volumes to be deleted",
      async () => {
        const volumes: Json[] = (await kubectlJson(["get", "persistentvolumes"])).items;
        return volumes.some((v) => v.spec.claimRef?.namespace === namespace) ? undefined : true;
      },
      60_000,
    );
    if (!process.env.WSS_TEST_KUBECONFIG) {
      const left = readdirSync(clusterPaths().volumes);
      const volumes: Json[] = (await kubectlJson(["get", "persistentvolumes"])).items;
      expect(left.length).toBe(volumes.length);
    }
  });
});

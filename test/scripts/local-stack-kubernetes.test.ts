// `npm run local -- up --target kubernetes` as a user runs it, with a folder, a namespace and
// NodePorts of its own (a developer's local kubernetes stack on the same cluster is left alone): up
// on the single-node cluster, the printed curl works, a rerun changes nothing, status, down, destroy.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterPaths, NODE_IP } from "../../scripts/cluster/layout.mts";
import { clusterCommand, lockCluster } from "../helpers/cluster";

const root = join(__dirname, "..", "..");
const ports = { hot: 32100, cold: 32101, api: 32180 };
let dir: string;
let env: NodeJS.ProcessEnv;
let unlock: () => void;
let wasRunning = false;

const local = (...args: string[]) => {
  try {
    return execFileSync("bash", ["scripts/local.sh", ...args, "--target", "kubernetes"], {
      cwd: root,
      env,
      encoding: "utf8",
      timeout: 600_000,
    });
  } catch (err) {
    // The command's own output says why (pulumi writes its errors there): keep its end in the failure.
    const out = String((err as { stdout?: string }).stdout ?? "");
    throw new Error(`${(err as Error).message}\n${out.slice(-4000)}`);
  }
};

beforeAll(async () => {
  unlock = await lockCluster();
  const paths = clusterPaths();
  wasRunning = /kube-apiserver\s+running/.test(existsSync(paths.kubeconfig) ? await clusterCommand("status") : "");
  dir = mkdtempSync(join(tmpdir(), "wss-local-k8s-"));
  env = {
    ...process.env,
    WSS_LOCAL_DIR: dir,
    WSS_LOCAL_CLUSTER_NAMESPACE: `wss-local-test-${process.pid}`,
    WSS_LOCAL_NODE_PORTS: `${ports.hot},${ports.cold},${ports.api}`,
  };
}, 1_800_000);
afterAll(async () => {
  try {
    // Whatever happened, destroy the stack (it stops the cluster) and remove its folder.
    try {
      if (existsSync(join(dir, "Pulumi.local-kubernetes.yaml"))) local("destroy");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (wasRunning) await clusterCommand("start");
    else await clusterCommand("stop");
  } finally {
    unlock?.();
  }
}, 600_000);

describe("npm run local -- up --target kubernetes", () => {
  it("up: the cluster, pulumi up with every workload awaited, and a printed curl that works", async () => {
    const out = local("up");
    const api = `http://${NODE_IP}:${ports.api}`;
    expect(out).toContain(`API               ${api}`);
    const curl = /curl -sS -H 'Authorization: Bearer ([^']+)' -F file=@README.md (\S+)\/upload/.exec(out);
    expect(curl?.[2]).toBe(api);
    const form = new FormData();
    form.append("file", new Blob(["bytes through the API pods"], { type: "text/plain" }), "hello.txt");
    const res = await fetch(`${api}/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${curl?.[1]}` },
      body: form,
    });
    expect(res.status).toBe(200);
    const { download_url } = (await res.json()) as { download_url: string };
    expect(new URL(download_url).host).toBe(`${NODE_IP}:${ports.hot}`);
    expect(await (await fetch(download_url)).text()).toBe("bytes through the API pods");
  });

  it("a rerun changes nothing", () => {
    const out = local("up");
    expect(out).toMatch(/\d+ unchanged/);
    expect(out).not.toMatch(/\d+ (created|updated|replaced)/);
  });

  it("status shows the stack's pods; down stops the cluster; destroy removes the stack", () => {
    expect(local("status")).toMatch(new RegExp(`wss-local-test-${process.pid}\\s+pod/hot-3\\s+1/1\\s+Running`));
    expect(local("down")).toContain("stopped the cluster");
    expect(local("status")).toMatch(/kube-apiserver\s+stopped/);
    expect(local("destroy")).toContain("destroyed the stack");
    expect(existsSync(join(dir, "Pulumi.local-kubernetes.yaml"))).toBe(false);
  });
});

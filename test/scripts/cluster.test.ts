// `npm run cluster` itself: a real single-node cluster started from nothing, what its pods can and
// cannot reach, its volumes, a second start that changes nothing, and a stop that leaves the host as
// it found it. A developer's running cluster is stopped first and started again at the end.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeImageName } from "../../scripts/cluster/cluster-images.mts";
import { BRIDGE, clusterPaths, NODE_IP } from "../../scripts/cluster/layout.mts";
import { clusterCommand, lockCluster } from "../helpers/cluster";
import { waitFor } from "../helpers/wait";

// biome-ignore lint/suspicious/noExplicitAny: kubectl's JSON is untyped
type Json = any;

const paths = clusterPaths();
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8" });
const kubectl = (args: string[], input?: string) =>
  execFileSync("kubectl", ["--kubeconfig", paths.kubeconfig, ...args], { encoding: "utf8", input });

/** What the cluster may change on the host, as comparable text. */
function hostSnapshot(): Record<string, string> {
  const sysctl = (name: string) =>
    existsSync(`/proc/sys/${name}`) ? readFileSync(`/proc/sys/${name}`, "utf8").trim() : "-";
  const chains = (family: string) =>
    sh(`${family}-save`, [])
      .split("\n")
      // Chains of our own making (":NAME - [counters]") and rules; built-in chains' counters move.
      .filter((l) => /^:\S+ - /.test(l) || l.startsWith("-A"))
      .map((l) => l.replace(/ \[\d+:\d+\]$/, ""))
      .join("\n");
  return {
    loAddresses: sh("ip", ["-o", "addr", "show", "dev", "lo"]).replace(/\s+valid_lft.*$/gm, ""),
    links: sh("ip", ["-o", "link", "show"])
      .replace(/^\d+: /gm, "")
      .split("\n")
      .map((l) => l.split(":")[0])
      .sort()
      .join(" "),
    iptables: chains("iptables"),
    ip6tables: chains("ip6tables"),
    sysctls: [
      "net/ipv4/ip_forward",
      "net/ipv4/conf/all/route_localnet",
      "vm/overcommit_memory",
      "kernel/panic",
      "kernel/panic_on_oops",
    ]
      .map((s) => `${s}=${sysctl(s)}`)
      .join(" "),
    mounts: readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1])
      .filter((m) => m?.startsWith(paths.dir) || m?.startsWith("/run/netns") || m?.startsWith("/run/containerd"))
      .join(" "),
    folders: ["/run/containerd", "/var/lib/cni", "/run/netns", "/var/lib/kubelet", "/opt/containerd"]
      .filter((f) => existsSync(f))
      .join(" "),
    processes: sh("ps", ["-eo", "comm="])
      .split("\n")
      .filter((c) => /^(etcd|kube-|kubelet|containerd|coredns)/.test(c))
      .sort()
      .join(" "),
  };
}

/** Runs a pod to completion as user 1000 and answers its log. */
async function runPod(name: string, script: string, volumeClaim?: string): Promise<string> {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      restartPolicy: "Never",
      securityContext: { runAsUser: 1000, runAsGroup: 1000 },
      containers: [
        {
          name: "probe",
          image: nodeImageName(),
          imagePullPolicy: "Never",
          command: ["node", "-e", script],
          volumeMounts: volumeClaim ? [{ name: "data", mountPath: "/data" }] : [],
        },
      ],
      volumes: volumeClaim ? [{ name: "data", persistentVolumeClaim: { claimName: volumeClaim } }] : [],
    },
  };
  kubectl(["apply", "-f", "-"], JSON.stringify(pod));
  await waitFor(
    `pod ${name} to finish`,
    async () => {
      const phase = JSON.parse(kubectl(["get", "pod", name, "-o", "json"])).status.phase;
      return phase === "Succeeded" || phase === "Failed" ? true : undefined;
    },
    60_000,
  );
  const log = kubectl(["logs", name]);
  kubectl(["delete", "pod", name, "--wait=false"]);
  return log;
}

describe("npm run cluster", () => {
  let unlock: () => void;
  let wasRunning = false;
  let before: Record<string, string>;

  beforeAll(async () => {
    unlock = await lockCluster();
    wasRunning = /kube-apiserver\s+running/.test(existsSync(paths.kubeconfig) ? await clusterCommand("status") : "");
    if (wasRunning) await clusterCommand("stop");
    before = hostSnapshot();
  }, 1_800_000);
  afterAll(async () => {
    try {
      if (wasRunning) await clusterCommand("start");
    } finally {
      unlock?.();
    }
  }, 600_000);

  it("start from nothing: the node is Ready and cluster DNS runs; a second start changes nothing", async () => {
    const first = await clusterCommand("start");
    expect(first).toContain("ready: export KUBECONFIG=");
    const nodes = JSON.parse(kubectl(["get", "nodes", "-o", "json"])).items;
    expect(nodes.map((n: Json) => n.status.addresses.find((a: Json) => a.type === "InternalIP").address)).toEqual([
      NODE_IP,
    ]);
    const pids = () =>
      Object.fromEntries(readdirSync(paths.run).map((f) => [f, readFileSync(`${paths.run}/${f}`, "utf8")]));
    const pidsBefore = pids();
    const second = await clusterCommand("start");
    expect(second).not.toContain("imported");
    // Give a daemon that would react to the second start (kube-proxy exits when its file changes) time to.
    await new Promise((r) => setTimeout(r, 3000));
    expect(pids()).toEqual(pidsBefore);
  });

  it("pods resolve the cluster's names and nothing else, reach the API server's Service, and have no route out", async () => {
    const log = await runPod(
      "reach",
      `const dns = require("node:dns").promises;
       (async () => {
         const routes = require("node:fs").readFileSync("/proc/net/route", "utf8").split("\\n").slice(1).filter(Boolean);
         console.log("default-route", routes.some((r) => r.split("\\t")[1] === "00000000"));
         console.log("cluster", (await dns.lookup("kubernetes.default.svc.cluster.local")).address);
         console.log("outside", await dns.resolve4("example.com").then(() => "answered", (e) => e.code));
         const status = await new Promise((ok) => require("node:https").get({ host: "kubernetes.default.svc", path: "/livez", rejectUnauthorized: false }, (r) => ok(r.statusCode)).on("error", (e) => ok(e.code)));
         console.log("apiserver", status);
         process.exit(0); // the unread answer would keep its socket, and the pod, alive
       })();`,
    );
    expect(log).toContain("default-route false");
    expect(log).toMatch(/cluster 198\.19\.0\.1/);
    expect(log).toContain("outside ENOTFOUND");
    expect(log).toMatch(/apiserver (200|401|403)/);
  });

  it("a claim gets a folder a non-root pod writes; deleting the claim deletes the volume and the folder", async () => {
    const claim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "probe-data", namespace: "default" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    };
    kubectl(["apply", "-f", "-"], JSON.stringify(claim));
    const log = await runPod(
      "write",
      `require("node:fs").writeFileSync("/data/x", "kept"); console.log("wrote", require("node:fs").readFileSync("/data/x", "utf8"))`,
      "probe-data",
    );
    expect(log).toContain("wrote kept");
    const folders = readdirSync(paths.volumes);
    expect(folders).toHaveLength(1);
    await waitFor("the pod to be gone", async () =>
      kubectl(["get", "pods", "-o", "name"]).includes("write") ? undefined : true,
    );
    kubectl(["delete", "pvc", "probe-data"]);
    await waitFor("the volume and its folder to be deleted", async () =>
      kubectl(["get", "pv", "-o", "name"]).trim() === "" && readdirSync(paths.volumes).length === 0 ? true : undefined,
    );
  });

  it("a NodePort Service answers from the host on the node's address", async () => {
    const server = `require("node:http").createServer((q, s) => s.end("from the pod")).listen(8080)`;
    const manifests = {
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "web", namespace: "default", labels: { app: "web" } },
          spec: {
            securityContext: { runAsUser: 1000 },
            containers: [
              { name: "web", image: nodeImageName(), imagePullPolicy: "Never", command: ["node", "-e", server] },
            ],
          },
        },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "web", namespace: "default" },
          spec: {
            type: "NodePort",
            selector: { app: "web" },
            ports: [{ port: 80, targetPort: 8080, nodePort: 31999 }],
          },
        },
      ],
    };
    kubectl(["apply", "-f", "-"], JSON.stringify(manifests));
    await waitFor(
      "the NodePort to answer",
      async () => {
        const res = await fetch(`http://${NODE_IP}:31999/`).catch(() => undefined);
        return res?.ok && (await res.text()) === "from the pod" ? true : undefined;
      },
      60_000,
    );
    kubectl(["delete", "-f", "-", "--wait=false"], JSON.stringify(manifests));
  });

  it("stop leaves the host as it found it: processes, address, bridge, iptables chains, sysctls, mounts, folders", async () => {
    expect(sh("ip", ["-o", "link", "show"])).toContain(BRIDGE);
    await clusterCommand("stop");
    expect(hostSnapshot()).toEqual(before);
  });
});

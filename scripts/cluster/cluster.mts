// `npm run cluster -- start|stop|status|delete`: a single-node Kubernetes on this machine with real
// containers (containerd + runc), cluster DNS and Services. Every part runs as a process of its own,
// its state under .local/cluster/ (WSS_CLUSTER_DIR); the admin kubeconfig is .local/cluster/kubeconfig.
//
//   start   start what is not running (idempotent); import the images; wait for the node and DNS
//   stop    stop everything and put the host back as start found it; data kept for the next start
//   status  what runs
//   delete  stop, then remove the cluster's folder (etcd, volumes, images)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { addonManifests } from "./addons.mts";
import { corednsImageName, pauseImageName } from "./cluster-images.mts";
import {
  writeCniConfig,
  writeContainerdConfig,
  writeKubeconfig,
  writeKubeletConfig,
  writeProxyConfig,
} from "./configs.mts";
import { killLeftoverShims, stopContainers } from "./containerd.mts";
import { type Daemon, logTail, runningPid, startDaemon, stopDaemon } from "./daemons.mts";
import { prepareHost, restoreHost } from "./host.mts";
import { importClusterImages } from "./image-import.mts";
import { kubeApi } from "./kube-api.mts";
import {
  CLUSTER_DOMAIN,
  type ClusterPaths,
  clusterPaths,
  NODE_IP,
  NODE_NAME,
  POD_CIDR,
  PORTS,
  SERVICE_CIDR,
} from "./layout.mts";
import { type ClusterPki, ensurePki } from "./pki.mts";
import { binary, onPath, toolchain } from "./toolchain.mts";

/** The daemons, in start order; stop goes the other way (the kubelet first among the node's parts). */
const ORDER = [
  "containerd",
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubelet",
  "kube-proxy",
  "volume-provisioner",
] as const;
type DaemonName = (typeof ORDER)[number];

const t0 = Date.now();
function step(message: string): void {
  console.log(`== ${message} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

/** Polls `check` until it answers true; on timeout, fails with `what` and the daemon's log. */
async function waitFor(
  paths: ClusterPaths,
  what: string,
  daemon: DaemonName,
  check: () => Promise<boolean>,
  timeoutMs = 90_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (daemon !== "volume-provisioner" && !runningPid(paths, daemon)) {
      throw new Error(`${daemon} exited while waiting for ${what}. Its log ends:\n${logTail(paths, daemon)}`);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}. ${daemon}'s log ends:\n${logTail(paths, daemon)}`);
    await sleep(250);
  }
}

function daemons(paths: ClusterPaths, pki: ClusterPki): Record<DaemonName, Daemon> {
  const t = toolchain();
  const kube = (name: string) => binary(name, t.KUBE_DIR);
  const kubeconfig = (who: keyof ClusterPki["clients"]) =>
    writeKubeconfig(join(paths.config, `${who}.kubeconfig`), pki, pki.clients[who], who);
  // What the controller manager and the scheduler share: their identity (for the API server and for
  // checking their own callers), a loopback-only health port, and no leader election on one node.
  const controlPlaneArgs = (who: "controllerManager" | "scheduler", port: number) => {
    const file = kubeconfig(who);
    return [
      `--kubeconfig=${file}`,
      `--authentication-kubeconfig=${file}`,
      `--authorization-kubeconfig=${file}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      "--leader-elect=false",
      "--profiling=false",
    ];
  };
  const etcdUrl = `http://127.0.0.1:${PORTS.etcdClient}`;
  const peerUrl = `http://127.0.0.1:${PORTS.etcdPeer}`;
  return {
    containerd: {
      name: "containerd",
      command: "containerd",
      args: ["--config", writeContainerdConfig(paths, join(t.CNI_DIR, "bin"), pauseImageName())],
    },
    etcd: {
      name: "etcd",
      command: kube("etcd"),
      args: [
        "--name=wss",
        `--data-dir=${paths.etcdData}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=wss=${peerUrl}`,
        // A development cluster on one machine: speed over surviving a power cut.
        "--unsafe-no-fsync",
      ],
    },
    "kube-apiserver": {
      name: "kube-apiserver",
      command: kube("kube-apiserver"),
      args: [
        `--etcd-servers=${etcdUrl}`,
        `--bind-address=${NODE_IP}`,
        `--advertise-address=${NODE_IP}`,
        `--secure-port=${PORTS.apiServer}`,
        `--tls-cert-file=${pki.apiServer.cert}`,
        `--tls-private-key-file=${pki.apiServer.key}`,
        `--client-ca-file=${pki.ca.cert}`,
        `--kubelet-client-certificate=${pki.clients.apiServerToKubelet.cert}`,
        `--kubelet-client-key=${pki.clients.apiServerToKubelet.key}`,
        `--kubelet-certificate-authority=${pki.ca.cert}`,
        "--kubelet-preferred-address-types=InternalIP",
        `--service-account-key-file=${pki.serviceAccount.pub}`,
        `--service-account-signing-key-file=${pki.serviceAccount.key}`,
        `--service-account-issuer=https://kubernetes.default.svc.${CLUSTER_DOMAIN}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true",
        "--profiling=false",
      ],
    },
    "kube-controller-manager": {
      name: "kube-controller-manager",
      command: kube("kube-controller-manager"),
      args: [
        ...controlPlaneArgs("controllerManager", PORTS.controllerManager),
        "--use-service-account-credentials",
        `--service-account-private-key-file=${pki.serviceAccount.key}`,
        `--root-ca-file=${pki.ca.cert}`,
        `--cluster-signing-cert-file=${pki.ca.cert}`,
        `--cluster-signing-key-file=${pki.ca.key}`,
        "--allocate-node-cidrs",
        `--cluster-cidr=${POD_CIDR}`,
        "--node-cidr-mask-size=24",
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
      ],
    },
    "kube-scheduler": {
      name: "kube-scheduler",
      command: kube("kube-scheduler"),
      args: controlPlaneArgs("scheduler", PORTS.scheduler),
    },
    kubelet: {
      name: "kubelet",
      command: kube("kubelet"),
      args: [
        `--config=${writeKubeletConfig(paths, pki)}`,
        `--kubeconfig=${kubeconfig("kubelet")}`,
        `--root-dir=${paths.kubeletRoot}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${NODE_IP}`,
      ],
    },
    "kube-proxy": {
      name: "kube-proxy",
      command: kube("kube-proxy"),
      args: [`--config=${writeProxyConfig(paths, kubeconfig("proxy"))}`],
    },
    "volume-provisioner": {
      name: "volume-provisioner",
      command: process.execPath,
      args: [join(import.meta.dirname, "volume-provisioner.mts"), paths.dir],
    },
  };
}

function kubectl(paths: ClusterPaths, args: string[], input?: string): string {
  return execFileSync(binary("kubectl", toolchain().KUBE_DIR), ["--kubeconfig", paths.kubeconfig, ...args], {
    encoding: "utf8",
    input,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      "the cluster needs root: containerd, the kubelet and the pod network change the host (run as root)",
    );
  }
}

/** The machine's own parts the node runs (setup installs them on Debian when it runs as root). */
function requireHostTools(): void {
  const missing = ["containerd", "ctr", "runc", "iptables", "conntrack", "ip", "openssl"].filter(
    (tool) => onPath(tool) === undefined,
  );
  if (missing.length > 0) {
    throw new Error(
      `the cluster needs ${missing.join(", ")} on PATH: install them (Debian: apt-get install containerd runc iptables conntrack), or run npm run setup as root`,
    );
  }
}

export async function startCluster(paths: ClusterPaths = clusterPaths()): Promise<void> {
  requireRoot();
  requireHostTools();
  for (const dir of [paths.dir, paths.config, paths.volumes, paths.podLogs, paths.images])
    mkdirSync(dir, { recursive: true });
  step("host: node address, forwarding, the pods' guard");
  prepareHost(paths.hostState);
  const pki = ensurePki(paths.pki);
  writeKubeconfig(paths.kubeconfig, pki, pki.clients.admin, "admin");
  writeCniConfig(paths);
  const all = daemons(paths, pki);
  const api = kubeApi({ ca: pki.ca.cert, ...pki.clients.admin });

  step("containerd");
  startDaemon(paths, all.containerd);
  await waitFor(paths, "containerd's socket", "containerd", async () => existsSync(paths.containerdSocket));
  step("images: build and import what changed");
  await importClusterImages(paths);

  step("etcd and the API server");
  startDaemon(paths, all.etcd);
  await waitFor(paths, "etcd", "etcd", async () => (await fetch(`http://127.0.0.1:${PORTS.etcdClient}/health`)).ok);
  startDaemon(paths, all["kube-apiserver"]);
  await waitFor(paths, "the API server", "kube-apiserver", async () => await api("GET", "/readyz").then(() => true));

  step("controller manager, scheduler, kubelet, kube-proxy, volume provisioner");
  for (const name of [
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "volume-provisioner",
  ] as const) {
    startDaemon(paths, all[name]);
  }
  await waitFor(paths, "the node to be Ready", "kubelet", async () => {
    const node = await api<{ status?: { conditions?: { type: string; status: string }[] } }>(
      "GET",
      `/api/v1/nodes/${NODE_NAME}`,
    );
    return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  });

  step("cluster DNS and the default StorageClass");
  const manifests = { apiVersion: "v1", kind: "List", items: addonManifests(corednsImageName()) };
  kubectl(
    paths,
    ["apply", "--server-side", "--force-conflicts", "--field-manager=wss-cluster", "-f", "-"],
    JSON.stringify(manifests),
  );
  await waitFor(paths, "CoreDNS to be Ready", "kubelet", async () => {
    const d = await api<{ status?: { readyReplicas?: number } }>(
      "GET",
      "/apis/apps/v1/namespaces/kube-system/deployments/coredns",
    );
    return (d.status?.readyReplicas ?? 0) >= 1;
  });
  step(`ready: export KUBECONFIG=${paths.kubeconfig}`);
}

/** Stops every part, the containers included, and restores the host. */
export async function stopCluster(paths: ClusterPaths = clusterPaths()): Promise<void> {
  requireRoot();
  step("kubelet, then every container");
  await stopDaemon(paths, "kubelet");
  if (runningPid(paths, "containerd")) stopContainers(paths);
  // Nothing depends on these any more: stopped side by side; then the API server, then its store.
  const stopAll = (names: DaemonName[]) =>
    Promise.all(
      names.map(async (name) => {
        if (await stopDaemon(paths, name)) console.log(`   ${name} had to be killed`);
      }),
    );
  await stopAll(["volume-provisioner", "kube-proxy", "kube-scheduler", "kube-controller-manager", "containerd"]);
  await stopAll(["kube-apiserver"]);
  await stopAll(["etcd"]);
  killLeftoverShims(paths);
  step("host: network, iptables, sysctls, mounts");
  const problems = restoreHost(paths.hostState, paths.dir);
  for (const p of problems) console.log(`   warning: ${p}`);
  step("stopped");
}

export function clusterStatus(paths: ClusterPaths = clusterPaths()): string {
  const lines = ORDER.map((name) => {
    const pid = runningPid(paths, name);
    return `${name.padEnd(24)} ${pid ? `running (pid ${pid})` : "stopped"}`;
  });
  if (runningPid(paths, "kube-apiserver")) {
    try {
      lines.push("", kubectl(paths, ["get", "nodes,pods", "--all-namespaces", "-o", "wide"]).trimEnd());
    } catch (err) {
      lines.push("", `the API server does not answer: ${(err as Error).message}`);
    }
  }
  lines.push("", `kubeconfig: ${paths.kubeconfig}`);
  return lines.join("\n");
}

async function main(command: string | undefined): Promise<void> {
  const paths = clusterPaths();
  switch (command) {
    case "start":
      await startCluster(paths);
      break;
    case "stop":
      await stopCluster(paths);
      break;
    case "status":
      console.log(clusterStatus(paths));
      break;
    case "delete":
      await stopCluster(paths);
      rmSync(paths.dir, { recursive: true, force: true });
      console.log(`removed ${paths.dir}`);
      break;
    default:
      throw new Error("usage: npm run cluster -- start|stop|status|delete");
  }
}

if (process.argv[1] === import.meta.filename) {
  main(process.argv[2]).catch((err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
  });
}

// The single-node cluster's fixed facts, in one place: its folder, address ranges, ports and names.
// The ranges are from 198.18.0.0/15, which RFC 2544 sets aside for network tests: no real network
// here uses it, and nothing in it is reachable beyond this machine (pods get no default route).
import { join, resolve } from "node:path";

const projectRoot = resolve(import.meta.dirname, "..", "..");

/** The node's own address: on `lo` as a /32 while the cluster runs (the API server and NodePorts bind it). */
export const NODE_IP = "198.18.0.1";
/** The one node's pod range (the cluster range holds exactly this one /24). */
export const POD_CIDR = "198.18.128.0/24";
export const SERVICE_CIDR = "198.19.0.0/24";
/** The `kubernetes` Service's address: the first of the service range, in the API server's certificate. */
export const KUBERNETES_SERVICE_IP = "198.19.0.1";
export const DNS_SERVICE_IP = "198.19.0.10";
export const CLUSTER_DOMAIN = "cluster.local";
export const NODE_NAME = "wss-node";
/** The pods' bridge; its own name, so it never touches a bridge another tool made. */
export const BRIDGE = "wss0";
/** Our iptables chain in FORWARD: pod traffic that would leave through another interface is dropped. */
export const GUARD_CHAIN = "WSS-CLUSTER-GUARD";

export const PORTS = {
  apiServer: 16443,
  etcdClient: 12379,
  etcdPeer: 12380,
  controllerManager: 10357,
  scheduler: 10359,
  kubelet: 10350,
  kubeletHealthz: 10348,
  proxyHealthz: 10356,
  proxyMetrics: 10349,
} as const;

/** The cluster's folder: `.local/cluster` unless WSS_CLUSTER_DIR says otherwise. */
export function clusterDir(): string {
  return process.env.WSS_CLUSTER_DIR ? resolve(process.env.WSS_CLUSTER_DIR) : join(projectRoot, ".local", "cluster");
}

/** The paths under the cluster's folder, named once. */
export function clusterPaths(dir: string = clusterDir()) {
  return {
    dir,
    kubeconfig: join(dir, "kubeconfig"),
    pki: join(dir, "pki"),
    etcdData: join(dir, "etcd"),
    containerdRoot: join(dir, "containerd", "root"),
    containerdState: join(dir, "containerd", "state"),
    containerdSocket: join(dir, "containerd", "containerd.sock"),
    kubeletRoot: join(dir, "kubelet"),
    podLogs: join(dir, "pod-logs"),
    cniConf: join(dir, "cni", "net.d"),
    cniData: join(dir, "cni", "ipam"),
    volumes: join(dir, "volumes"),
    images: join(dir, "images"),
    config: join(dir, "config"),
    logs: join(dir, "logs"),
    run: join(dir, "run"),
    hostState: join(dir, "host-state.json"),
  };
}

export type ClusterPaths = ReturnType<typeof clusterPaths>;

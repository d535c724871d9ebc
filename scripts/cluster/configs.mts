// The configuration files of the node's daemons, written under the cluster's folder. JSON where the
// daemon reads YAML (JSON is YAML), TOML for containerd.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  BRIDGE,
  CLUSTER_DOMAIN,
  type ClusterPaths,
  DNS_SERVICE_IP,
  NODE_IP,
  NODE_NAME,
  POD_CIDR,
  PORTS,
  SERVICE_CIDR,
} from "./layout.mts";
import type { Certificate, ClusterPki } from "./pki.mts";

/**
 * Writes a config file unless it already holds `text`: kube-proxy exits when its file changes, so a
 * second `start` must leave the files of running daemons untouched.
 */
function write(file: string, text: string, mode = 0o600): string {
  if (existsSync(file) && readFileSync(file, "utf8") === text) return file;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text, { mode });
  return file;
}

/** A kubeconfig for one client certificate, against the API server on the node's address. */
export function writeKubeconfig(file: string, pki: ClusterPki, client: Certificate, user: string): string {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "wss",
        cluster: { server: `https://${NODE_IP}:${PORTS.apiServer}`, "certificate-authority": pki.ca.cert },
      },
    ],
    users: [{ name: user, user: { "client-certificate": client.cert, "client-key": client.key } }],
    contexts: [{ name: "wss", context: { cluster: "wss", user } }],
    "current-context": "wss",
  };
  return write(file, JSON.stringify(config, null, 2));
}

/**
 * containerd, run by hand (no systemd): its own root, state and socket; the CRI plugin with our pause
 * image, cgroupfs, and our CNI folders. `restrict_oom_score_adj`: this kind of VM lacks
 * CAP_SYS_RESOURCE, so lowering a score fails and every sandbox with it.
 */
export function writeContainerdConfig(paths: ClusterPaths, cniBin: string, pauseImage: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return write(
    join(paths.config, "containerd.toml"),
    [
      "version = 2",
      `root = ${JSON.stringify(paths.containerdRoot)}`,
      `state = ${JSON.stringify(paths.containerdState)}`,
      "[grpc]",
      `  address = ${JSON.stringify(paths.containerdSocket)}`,
      "[ttrpc]",
      `  address = ${JSON.stringify(`${paths.containerdSocket}.ttrpc`)}`,
      // Its default is /opt/containerd: keep everything inside the cluster's folder.
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${JSON.stringify(join(paths.dir, "containerd", "opt"))}`,
      `[${cri}]`,
      `  sandbox_image = ${JSON.stringify(pauseImage)}`,
      "  restrict_oom_score_adj = true",
      `[${cri}.containerd]`,
      '  default_runtime_name = "runc"',
      `[${cri}.containerd.runtimes.runc]`,
      '  runtime_type = "io.containerd.runc.v2"',
      `[${cri}.containerd.runtimes.runc.options]`,
      "  SystemdCgroup = false",
      `[${cri}.cni]`,
      `  bin_dir = ${JSON.stringify(cniBin)}`,
      `  conf_dir = ${JSON.stringify(paths.cniConf)}`,
      "",
    ].join("\n"),
  );
}

/**
 * The pod network: a bridge with host-local addresses. No masquerading and no default route in the
 * pods: they reach each other, Services and the node, and nothing beyond this machine.
 */
export function writeCniConfig(paths: ClusterPaths): string {
  const conf = {
    cniVersion: "1.0.0",
    name: "wss",
    plugins: [
      {
        type: "bridge",
        bridge: BRIDGE,
        isGateway: true,
        isDefaultGateway: false,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          dataDir: paths.cniData,
          ranges: [[{ subnet: POD_CIDR }]],
          routes: [{ dst: SERVICE_CIDR }, { dst: `${NODE_IP}/32` }],
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
  return write(join(paths.cniConf, "10-wss.conflist"), JSON.stringify(conf, null, 2), 0o644);
}

export function writeKubeletConfig(paths: ClusterPaths, pki: ClusterPki): string {
  // Pods with dnsPolicy Default (CoreDNS itself) get this file: empty, so no pod learns the host's resolver.
  const resolvConf = write(join(paths.config, "pod-resolv.conf"), "", 0o644);
  const config = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: NODE_IP,
    port: PORTS.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: PORTS.kubeletHealthz,
    tlsCertFile: pki.kubeletServing.cert,
    tlsPrivateKeyFile: pki.kubeletServing.key,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: pki.ca.cert } },
    authorization: { mode: "Webhook" },
    containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
    cgroupDriver: "cgroupfs",
    failSwapOn: false,
    oomScoreAdj: 0,
    clusterDNS: [DNS_SERVICE_IP],
    clusterDomain: CLUSTER_DOMAIN,
    resolvConf,
    podLogsDir: paths.podLogs,
    podCIDR: POD_CIDR,
    // A development machine's disk is often fuller than a server's: evict only when really short.
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    // Images are imported, never pulled: nothing to pull from.
    registryPullQPS: 0,
  };
  return write(join(paths.config, "kubelet.json"), JSON.stringify(config, null, 2));
}

export function writeProxyConfig(paths: ClusterPaths, kubeconfig: string): string {
  const config = {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig },
    hostnameOverride: NODE_NAME,
    mode: "iptables",
    clusterCIDR: POD_CIDR,
    bindAddress: NODE_IP,
    healthzBindAddress: `127.0.0.1:${PORTS.proxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${PORTS.proxyMetrics}`,
    // NodePorts on the node's address only: never on an interface other machines reach.
    nodePortAddresses: [`${NODE_IP}/32`],
    oomScoreAdj: 0,
    // Zeros: leave the host's conntrack sysctls as they are.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
  };
  return write(join(paths.config, "kube-proxy.json"), JSON.stringify(config, null, 2));
}

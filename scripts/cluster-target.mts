// The stack config of the `kubernetes` target on the project's single-node cluster (npm run
// cluster): one list for `npm run local -- up --target kubernetes` and the kubernetes engine tests.
// MinIO and the API are published on NodePorts of the node's address, so `pulumi up` reaches MinIO
// from this machine and the printed links work here.
import { minioImageName, nodeImageName } from "./cluster/cluster-images.mts";
import { NODE_IP } from "./cluster/layout.mts";
import type { StackSetting } from "./external-target.mts";

/** The NodePorts the local kubernetes stack takes (the cluster's NodePort range is 30000-32767). */
export const CLUSTER_NODE_PORTS: NodePorts = { hot: 30900, cold: 30901, api: 30980 };

export interface NodePorts {
  hot: number;
  cold: number;
  api: number;
}

export interface ClusterTargetOptions {
  namespace: string;
  /** Default CLUSTER_NODE_PORTS; a second stack on the same cluster takes others. */
  nodePorts?: NodePorts;
  /** The API bundle the stack ships; default the program's dist/api/server.js. */
  apiBundlePath?: string;
  /** Days before large objects move to the cold tier. Default: the program's. */
  transitionDays?: number;
}

/** Where the host reaches a NodePort. */
export function nodePortUrl(port: number): string {
  return `http://${NODE_IP}:${port}`;
}

export function clusterTargetSettings(options: ClusterTargetOptions): StackSetting[] {
  const ports = options.nodePorts ?? CLUSTER_NODE_PORTS;
  const plain = (key: string, value: string): StackSetting => ({ key, value, secret: false });
  return [
    plain("target", "kubernetes"),
    plain("namespace", options.namespace),
    plain("minioImage", minioImageName()),
    plain("apiNodeImage", nodeImageName()),
    // Distributed over four pods, one drive each: erasure coding (EC:2) as in production.
    plain("minioMode", "distributed"),
    plain("minioReplicas", "4"),
    plain("minioDrivesPerPod", "1"),
    plain("minioStorageSize", "1Gi"),
    plain("coldStorageSize", "1Gi"),
    plain("minioNodePort", String(ports.hot)),
    plain("coldNodePort", String(ports.cold)),
    plain("apiNodePort", String(ports.api)),
    plain("minioManagementEndpoint", nodePortUrl(ports.hot)),
    plain("minioPublicEndpoint", nodePortUrl(ports.hot)),
    plain("coldManagementEndpoint", nodePortUrl(ports.cold)),
    // NodePort traffic reaches the pods from the node's address.
    plain("managementSources", `${NODE_IP}/32`),
    ...(options.apiBundlePath ? [plain("apiBundlePath", options.apiBundlePath)] : []),
    ...(options.transitionDays !== undefined ? [plain("transitionDays", String(options.transitionDays))] : []),
  ];
}

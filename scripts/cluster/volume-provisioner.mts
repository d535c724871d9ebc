// The cluster's volume provisioner: a folder under volumes/ per claim of the default StorageClass,
// made when the scheduler picked the node (WaitForFirstConsumer), removed when the claim is deleted.
// The kubelet mounts it as a hostPath. kube-controller-manager's own host-path provisioner is not
// used: it makes folders 0750 owned by root under /tmp, which MinIO's non-root pods cannot write.
//
//   node volume-provisioner.mts CLUSTER_DIR     (started and stopped by cluster.mts)
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PROVISIONER, STORAGE_CLASS } from "./addons.mts";
import { type KubeApi, KubeApiError, kubeApi } from "./kube-api.mts";
import { clusterPaths, NODE_NAME } from "./layout.mts";
import { pkiFiles } from "./pki.mts";

interface Claim {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> };
  spec: { storageClassName?: string; accessModes: string[]; resources: { requests: { storage: string } } };
  status: { phase: string };
}
interface Volume {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { hostPath?: { path: string }; persistentVolumeReclaimPolicy?: string };
  status: { phase: string };
}

const PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";

/** The PersistentVolume for a claim: a hostPath folder on our node, bound to that claim alone. */
export function volumeFor(claim: Claim, path: string): object {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: `pvc-${claim.metadata.uid}`, annotations: { [PROVISIONED_BY]: PROVISIONER } },
    spec: {
      capacity: { storage: claim.spec.resources.requests.storage },
      accessModes: claim.spec.accessModes,
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: STORAGE_CLASS,
      hostPath: { path, type: "Directory" },
      claimRef: { namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [NODE_NAME] }] },
          ],
        },
      },
    },
  };
}

export async function reconcile(api: KubeApi, volumesDir: string): Promise<void> {
  const claims = (await api<{ items: Claim[] }>("GET", "/api/v1/persistentvolumeclaims")).items;
  const volumes = (await api<{ items: Volume[] }>("GET", "/api/v1/persistentvolumes")).items;
  const existing = new Set(volumes.map((v) => v.metadata.name));
  for (const claim of claims) {
    const waiting =
      claim.status.phase === "Pending" &&
      claim.spec.storageClassName === STORAGE_CLASS &&
      claim.metadata.annotations?.["volume.kubernetes.io/selected-node"] !== undefined;
    if (!waiting || existing.has(`pvc-${claim.metadata.uid}`)) continue;
    const path = join(volumesDir, `pvc-${claim.metadata.uid}`);
    // Open to every user: pods run as non-root users we do not know here, and hostPath takes no fsGroup.
    mkdirSync(path, { recursive: true });
    chmodSync(path, 0o777); // mkdir's mode is narrowed by the umask

    await api("POST", "/api/v1/persistentvolumes", volumeFor(claim, path));
    console.log(`provisioned ${path} for ${claim.metadata.namespace}/${claim.metadata.name}`);
  }
  for (const volume of volumes) {
    const ours = volume.metadata.annotations?.[PROVISIONED_BY] === PROVISIONER;
    if (!ours || volume.status.phase !== "Released" || volume.spec.persistentVolumeReclaimPolicy !== "Delete") continue;
    if (volume.spec.hostPath?.path.startsWith(`${volumesDir}/`))
      rmSync(volume.spec.hostPath.path, { recursive: true, force: true });
    try {
      await api("DELETE", `/api/v1/persistentvolumes/${volume.metadata.name}`);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
    console.log(`deleted ${volume.metadata.name}`);
  }
}

async function main(): Promise<void> {
  const paths = clusterPaths(process.argv[2]);
  const files = pkiFiles(paths.pki);
  const api = kubeApi({ ca: files.ca.cert, ...files.clients.admin });
  mkdirSync(paths.volumes, { recursive: true });
  for (;;) {
    try {
      await reconcile(api, paths.volumes);
    } catch (err) {
      console.error(`reconcile: ${(err as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

if (process.argv[1] === import.meta.filename) await main();

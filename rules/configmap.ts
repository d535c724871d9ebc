// How the API bundle fits a ConfigMap: one rule for the build's report and the deploy's check, so a
// bundle the build calls fitting is never refused at deploy. It ships gzipped in `binaryData`,
// which holds base64: 4 bytes for every 3.

/** Kubernetes' limit on a ConfigMap's data. */
export const CONFIGMAP_LIMIT_BYTES = 1024 * 1024;

/** What `bytes` of binary data take in a ConfigMap (base64). */
export function configMapBinaryBytes(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/** Whether `bytes` of binary data fit one ConfigMap. */
export function fitsConfigMapBinary(bytes: number): boolean {
  return configMapBinaryBytes(bytes) < CONFIGMAP_LIMIT_BYTES;
}

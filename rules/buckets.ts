// The bucket naming rule, one owner for every layer: the stack config refuses a bad name before
// anything is created, the bucket provider before it calls MinIO, the API at start. S3's rules as
// MinIO enforces them: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each
// end, no "..", no "xn--" prefix, not an IPv4 address, and not "minio": MinIO keeps /minio/ for its
// own endpoints (admin API, metrics, health) and refuses every request to a bucket of that name. The
// public Ingress relies on it: it routes bucket paths only, and no bucket path can be /minio.
const BUCKET_NAME = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;
/** The name MinIO reserves (its endpoints live under /minio/). */
export const MINIO_RESERVED_BUCKET = "minio";

export const BUCKET_NAME_RULE =
  "3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no '..', not an IP address, not 'minio' (MinIO reserves it)";

export function isValidBucketName(name: unknown): name is string {
  return typeof name === "string" && BUCKET_NAME.test(name) && !IPV4.test(name) && name !== MINIO_RESERVED_BUCKET;
}

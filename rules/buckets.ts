// The bucket naming rule, one owner for every layer: the stack config refuses a bad name before
// anything is created, the bucket provider before it calls MinIO, the API at start. S3's rules as
// MinIO enforces them: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each
// end, no "..", no "xn--" prefix, and not an IPv4 address.
const BUCKET_NAME = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

export const BUCKET_NAME_RULE =
  "3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no '..', not an IP address";

export function isValidBucketName(name: unknown): name is string {
  return typeof name === "string" && BUCKET_NAME.test(name) && !IPV4.test(name);
}

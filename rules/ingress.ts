// How the stack's Ingresses carry large uploads, one owner for the values: the components attach
// them, the tests check the rendered manifests against them and README ("The public edge") explains
// them. They are ingress-nginx annotations, the controller most clusters run; another controller
// ignores them and needs its own equivalents (README lists what each one does). No side effects.

/** The IngressClass ingress-nginx's chart installs; the stack's `ingressClassName` by default. */
export const DEFAULT_INGRESS_CLASS = "nginx";

const NGINX = "nginx.ingress.kubernetes.io";

/**
 * The slowest client the edge waits for. nginx's proxy timeouts are idle timeouts (between two
 * writes to the backend, or two reads from it), not a bound on the whole request; sizing them as if
 * they were (the largest request at this rate) keeps them long enough for a max-size upload either
 * way, also where an operator carries the value to a controller whose timeout spans the request.
 */
export const SLOWEST_CLIENT_BYTES_PER_SECOND = 1024 * 1024;
/** nginx's own default: small requests keep it. */
export const MIN_PROXY_TIMEOUT_SECONDS = 60;
/**
 * Above an hour an idle timeout only keeps dead connections open: no healthy upload leaves the
 * backend silent that long (the API itself ends any request after 15 minutes).
 */
export const MAX_PROXY_TIMEOUT_SECONDS = 3600;

/** Seconds the edge waits on the backend, for requests of up to `largestRequestBytes`. */
export function proxyTimeoutSeconds(largestRequestBytes: number): number {
  const needed = Math.ceil(largestRequestBytes / SLOWEST_CLIENT_BYTES_PER_SECOND);
  return Math.min(MAX_PROXY_TIMEOUT_SECONDS, Math.max(MIN_PROXY_TIMEOUT_SECONDS, needed));
}

/**
 * ingress-nginx's settings for streaming requests of up to `largestRequestBytes` to a backend that
 * reads them as they come (the API streams files to MinIO part by part; MinIO stores as it reads):
 *
 * - `proxy-body-size`: the request limit (ingress-nginx's default is 1 MiB), in bytes, from the largest
 *   request the backend accepts (rules/api-settings.ts); the backend enforces its exact limits.
 * - `proxy-request-buffering: off`: pass the body on as it arrives. Buffered, nginx would first
 *   spool every upload to the controller's disk and the backend would see nothing until the end.
 * - `proxy-buffering: off`: pass answers (downloads from MinIO) on as they come, instead of
 *   spooling up to 1 GiB of each to the controller's disk. ingress-nginx's default already, stated
 *   so that a controller-wide setting cannot turn spooling on for these hosts.
 * - `proxy-read-timeout` / `proxy-send-timeout`: see `proxyTimeoutSeconds`. ingress-nginx takes
 *   plain seconds here ("600", not "600s": a unit fails its validation and the default applies).
 */
export function streamingAnnotations(largestRequestBytes: number): Record<string, string> {
  const timeout = String(proxyTimeoutSeconds(largestRequestBytes));
  return {
    [`${NGINX}/proxy-body-size`]: String(largestRequestBytes),
    [`${NGINX}/proxy-request-buffering`]: "off",
    [`${NGINX}/proxy-buffering`]: "off",
    [`${NGINX}/proxy-read-timeout`]: timeout,
    [`${NGINX}/proxy-send-timeout`]: timeout,
  };
}

/** A path an Ingress sends to its backend, with Kubernetes' match semantics. */
export interface IngressPath {
  path: string;
  /** Prefix matches whole path segments (`/v1` matches `/v1/uploads`, not `/v1x`); Exact the path alone. */
  pathType: "Prefix" | "Exact";
}

/**
 * What the API's Ingress publishes: the routes clients call (api/README.md, "Routes"), nothing
 * else. `/healthz` and `/readyz` are for the kubelet, which probes the pod itself; `/metrics` is on
 * its own port, outside the Service. The upload page (`/upload-page`) is not served on Kubernetes
 * (UPLOAD_PAGE stays off; only the local stack turns it on), so it is not routed either.
 */
export const PUBLIC_API_PATHS: readonly IngressPath[] = [
  { path: "/v1", pathType: "Prefix" },
  { path: "/upload", pathType: "Exact" },
  { path: "/openapi.json", pathType: "Exact" },
];

/**
 * What the public MinIO Ingress publishes: the buckets' paths, which is all presigned links use
 * (path-style URLs: `/<bucket>`, `/<bucket>/<key>`). Everything else stays unrouted, and the
 * controller answers it with its default backend (404): MinIO's admin API, metrics and health under
 * `/minio/` (rules/buckets.ts refuses a bucket named `minio`), the bucket listing at `/`, and any
 * other bucket.
 */
export function publicBucketPaths(buckets: readonly string[]): IngressPath[] {
  return buckets.map((bucket) => ({ path: `/${bucket}`, pathType: "Prefix" }));
}

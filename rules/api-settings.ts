// Defaults and bounds of the API's settings that the Pulumi program also sets (api/README.md,
// "Configuration"). One owner, so the program's defaults and the API's never drift apart.

/** Uploads one API process streams at once; beyond it, 503 with Retry-After (load shedding). */
export const DEFAULT_MAX_CONCURRENT_UPLOADS = 16;
export const MAX_CONCURRENT_UPLOADS_LIMIT = 1024;

/**
 * How long a connection may sit with nothing received before the API closes it (the socket's idle
 * timeout): a client that stalls mid-body is let go after this.
 */
export const SOCKET_IDLE_TIMEOUT_MS = 60_000;

/**
 * How long a request to MinIO may go without a byte either way before the API gives up on it and
 * answers 503. Below write quorum MinIO holds requests unanswered for minutes (`npm run faults`: two
 * nodes of four down); the API must answer its client before the client's connection idles out, even
 * when a commit, the check whether it happened and the abort each meet the silence in turn.
 */
export const STORAGE_IDLE_TIMEOUT_MS = SOCKET_IDLE_TIMEOUT_MS / 4;

/**
 * The buffer budget: what one API process holds at most in part buffers, across all its uploads
 * (api/part-buffers.ts). 64 MiB is 12 parts of S3's smallest size: a single upload still receives a
 * part while it sends the previous one, and many at once take turns, as MinIO serves them anyway.
 */
export const PART_BUFFER_BUDGET_BYTES = 64 * 1024 * 1024;
/**
 * How long an upload waits for a part buffer before it is answered 503 TOO_BUSY. Well below the
 * socket's idle timeout: a waiting upload reads nothing, and its client must get the answer, not a
 * cut connection.
 */
export const PART_BUFFER_WAIT_MS = SOCKET_IDLE_TIMEOUT_MS / 2;

/** Port of the API's metrics listener: apart from the public port, never in the Service clients use. */
export const DEFAULT_METRICS_PORT = 9464;

/** The region MinIO answers for unless told otherwise; presigned links are signed for it. */
export const DEFAULT_REGION = "us-east-1";
export const REGION_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Readiness and shutdown are contracts between the API and its pod, kept here as one value each:
 * the API answers /readyz within READINESS_DEADLINE_MS, so the kubelet's probe timeout is set above
 * it (it sees our 503, never its own timeout); the API drains for SHUTDOWN_GRACE_MS after SIGTERM,
 * so the pod's grace period is set above that plus the preStop pause (the exit is ours, not a
 * SIGKILL).
 */
export const READINESS_DEADLINE_MS = 2000;
export const PROBE_TIMEOUT_SECONDS = Math.ceil(READINESS_DEADLINE_MS / 1000) + 1;
export const SHUTDOWN_GRACE_MS = 50_000;
/** Seconds the pod keeps serving after SIGTERM is due, while endpoints drop it. */
export const PRE_STOP_PAUSE_SECONDS = 5;
export const POD_GRACE_SECONDS = PRE_STOP_PAUSE_SECONDS + Math.ceil(SHUTDOWN_GRACE_MS / 1000) + 5;

/** Presigned links: the lifetime when none is asked, the longest granted, and SigV4's own limit. */
export const DEFAULT_PRESIGN_SECONDS = 900;
export const DEFAULT_PRESIGN_MAX_SECONDS = 3600;
export const SIGV4_MAX_EXPIRY_SECONDS = 604_800;

/** The largest upload by default, and S3's largest object (anything above is a typo). */
export const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
export const MAX_OBJECT_BYTES = 5 * 1024 ** 4;

/**
 * Output files one artifacts request may carry, each up to the max upload size. The program sets it
 * (MAX_FILES_PER_REQUEST) rather than leaving the API's default, because the Ingress's body limit is
 * computed from it: the two must be one value.
 */
export const DEFAULT_MAX_FILES_PER_REQUEST = 10;

/**
 * What a multipart request carries besides its files' bytes: the boundaries, each part's headers
 * (a few hundred bytes from real clients), the small form fields and an execution's result JSON (at
 * most 1 MiB). Generous on purpose: the edge's limit only has to stop what no client of ours sends.
 */
export const MULTIPART_ALLOWANCE_BYTES = 4 * 1024 * 1024;

/**
 * The largest request body for one file of `maxUploadBytes`: `POST /upload`, `POST /v1/uploads`, and
 * a presigned POST (a multipart form) or PUT straight to MinIO.
 */
export function largestUploadRequestBytes(maxUploadBytes: number): number {
  return maxUploadBytes + MULTIPART_ALLOWANCE_BYTES;
}

/**
 * The largest request body the API accepts: an artifacts save with every output file at the max
 * upload size (`POST /v1/executions/{id}/artifacts`), which is larger than any single upload.
 */
export function largestApiRequestBytes(maxUploadBytes: number, maxFilesPerRequest: number): number {
  return maxFilesPerRequest * maxUploadBytes + MULTIPART_ALLOWANCE_BYTES;
}

/**
 * Browser uploads in presigned parts (multipart upload sessions). S3 takes parts of 5 MiB and more
 * (but the last) and at most 10000 of them; a session lasts a day by default, and its part links
 * never outlive it. Uploads under our prefix older than the session time are aborted by the API.
 */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
export const S3_MAX_PARTS = 10_000;
export const DEFAULT_PART_BYTES = 16 * 1024 * 1024;
export const MAX_PART_BYTES = 5 * 1024 ** 3;
export const DEFAULT_SESSION_SECONDS = 86_400;

// Waiting for a MinIO endpoint to serve. On Kubernetes, pods being Ready is not the same as their
// management endpoint answering from where `pulumi up` runs: a NodePort, load balancer or Ingress
// needs a moment to follow (kube-proxy syncs, a controller reloads). Whoever talks to MinIO next
// would fail with ECONNREFUSED on a first `up`; it waits here instead, with progress and a deadline.
import * as pulumi from "@pulumi/pulumi";

export interface ReachableOptions {
  /** How long to keep trying. Default 120 s. */
  timeoutMs?: number;
  /** Where progress goes. Default: the engine's log (shown by `pulumi up`). */
  log?: (message: string) => void;
  /** What the endpoint is, for messages, e.g. the config key that sets it. */
  what?: string;
}

/**
 * Resolves once the MinIO at `endpoint` reports that its cluster can serve writes (its
 * `/minio/health/cluster` answers 200: with a distributed MinIO, write quorum is there), retrying
 * connection failures and other answers every second until the deadline.
 */
export async function waitUntilReachable(endpoint: string, options: ReachableOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const log = options.log ?? ((message: string) => pulumi.log.info(message));
  const what = options.what ?? endpoint;
  const started = Date.now();
  let nextReport = started + 10_000;
  let lastError = "";
  for (;;) {
    try {
      const res = await fetch(new URL("/minio/health/cluster", endpoint), { signal: AbortSignal.timeout(5000) });
      if (res.ok) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      lastError = cause?.code ?? cause?.message ?? (err as Error).message;
    }
    const now = Date.now();
    if (now - started >= timeoutMs) {
      throw new Error(
        `${what} (${endpoint}) did not answer within ${Math.round(timeoutMs / 1000)} s (last: ${lastError}): ` +
          "check that it reaches MinIO's S3 port from where pulumi runs",
      );
    }
    if (now >= nextReport) {
      log(`waiting for ${what} (${endpoint}) to answer: ${Math.round((now - started) / 1000)} s (${lastError})`);
      nextReport += 10_000;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

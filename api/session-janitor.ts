// Cleanup of abandoned upload sessions. MinIO keeps no lifecycle rule for incomplete multipart
// uploads (AbortIncompleteMultipartUpload is dropped), so the API aborts those under uploads/ that
// are older than a session may live. Every replica sweeps; aborting an upload another replica
// aborted first is harmless.
import type { FastifyBaseLogger } from "fastify";
import type { ServiceContext } from "./context";
import { UPLOADS_PREFIX } from "./keys";
import { isS3Error } from "./storage";

/** How often a sweep runs: a quarter of a session's life, at most every 15 minutes. */
export function sweepIntervalMs(sessionSeconds: number): number {
  return Math.min((sessionSeconds * 1000) / 4, 15 * 60_000);
}

export interface SessionJanitor {
  /** One sweep now: aborts the abandoned uploads and answers how many. */
  sweep(): Promise<number>;
  stop(): void;
}

export function startSessionJanitor(ctx: ServiceContext, log: FastifyBaseLogger): SessionJanitor {
  const { storage, config, metrics } = ctx;
  const bucket = config.buckets.uploads;

  async function sweep(): Promise<number> {
    const cutoff = ctx.now().getTime() - config.multipart.sessionSeconds * 1000;
    let aborted = 0;
    let keyMarker = "";
    let uploadIdMarker = "";
    for (;;) {
      // The whole bucket (MinIO lists a prefix's uploads only for an exact object name), filtered here.
      const page = await storage.data.listIncompleteUploadsQuery(bucket, "", keyMarker, uploadIdMarker, "");
      for (const upload of page.uploads) {
        if (!upload.key.startsWith(UPLOADS_PREFIX) || upload.initiated.getTime() > cutoff) continue;
        try {
          await storage.data.abortMultipartUpload(bucket, upload.key, upload.uploadId);
          aborted++;
        } catch (err) {
          if (!isS3Error(err, "NoSuchUpload")) throw err;
        }
      }
      if (!page.isTruncated) break;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker;
    }
    if (aborted > 0) {
      metrics.uploadSessions.inc({ outcome: "abandoned" }, aborted);
      log.info({ aborted }, "aborted abandoned upload sessions");
    }
    return aborted;
  }

  const timer = setInterval(() => {
    sweep().catch((err: unknown) => log.warn({ err }, "sweeping abandoned upload sessions failed; next time"));
  }, sweepIntervalMs(config.multipart.sessionSeconds));
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}

// GET /healthz: the process is up (liveness; never touches MinIO, so a MinIO outage does not get
// the pod restarted). GET /readyz: MinIO answers and both buckets exist (readiness), asked the way
// the API's least-privilege policy allows: a listing of its own prefix (HEAD bucket carries no
// prefix, so the policy refuses it). One check serves every probe within READY_CACHE_MS, so MinIO
// sees at most one round trip (the two listings, in parallel) per interval whatever the probe rate.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type * as Minio from "minio";
import { Type } from "typebox";
import { READINESS_DEADLINE_MS } from "../../rules/api-settings";
import type { ServiceContext } from "../context";
import { apiError, errorResponses, isStorageUnavailable, RETRY_AFTER_SECONDS, storageUnavailable } from "../errors";
import { EXECUTIONS_PREFIX, UPLOADS_PREFIX } from "../keys";

/**
 * A readiness probe must answer quickly even when MinIO hangs instead of refusing: below the
 * probe's own timeout (rules/api-settings.ts sets it from this value), so the kubelet sees our 503.
 */
export const READY_TIMEOUT_MS = READINESS_DEADLINE_MS;
/** How long one readiness answer (good or bad) is reused. */
export const READY_CACHE_MS = 1000;

/** What MinIO answers when the API's user does not exist, has another secret, or lacks its policy. */
const REFUSED_CREDENTIALS = new Set(["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"]);

const Status = Type.Object({ status: Type.Literal("ok") });
const Ready = Type.Object({ status: Type.Literal("ready"), buckets: Type.Array(Type.String()) });

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("readiness check timed out"), { code: "ETIMEDOUT" })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Whether a bucket exists: one listing page of `prefix`; NoSuchBucket means it does not. */
async function bucketPresent(client: Minio.Client, bucket: string, prefix: string): Promise<boolean> {
  const stream = client.listObjectsV2(bucket, prefix, false);
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once("data", () => resolve());
      stream.once("end", () => resolve());
      stream.once("error", reject);
    });
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "NoSuchBucket") return false;
    throw err;
  } finally {
    stream.destroy();
  }
}

async function checkReadiness(ctx: ServiceContext): Promise<{ status: "ready"; buckets: string[] }> {
  const buckets = [ctx.config.buckets.uploads, ctx.config.buckets.artifacts];
  const prefixes = [UPLOADS_PREFIX, EXECUTIONS_PREFIX];
  let present: boolean[];
  try {
    present = await withTimeout(
      Promise.all(buckets.map((b, i) => bucketPresent(ctx.storage.data, b, prefixes[i] as string))),
      READY_TIMEOUT_MS,
    );
  } catch (err) {
    if (isStorageUnavailable(err)) throw storageUnavailable();
    // The API's user or its policy is not there yet (a deploy still under way, or a rotation not
    // yet rolled out): not ready, and worth retrying, rather than a 500.
    const code = (err as { code?: string }).code;
    if (code !== undefined && REFUSED_CREDENTIALS.has(code)) {
      throw apiError("CREDENTIALS_REFUSED", `MinIO refused the API's credentials (${code})`, {
        "retry-after": String(RETRY_AFTER_SECONDS),
      });
    }
    throw err;
  }
  const missing = buckets.filter((_, i) => !present[i]);
  if (missing.length > 0) {
    throw apiError("BUCKETS_MISSING", `missing bucket(s): ${missing.join(", ")}`, {
      "retry-after": String(RETRY_AFTER_SECONDS),
    });
  }
  return { status: "ready", buckets };
}

/**
 * `check`, run at most once per `ttlMs`: callers while it runs, and within `ttlMs` after it settled,
 * share that run and its outcome (success or failure).
 */
export function reusedFor<T>(ttlMs: number, check: () => Promise<T>, clock: () => number = Date.now): () => Promise<T> {
  let last: { settledAt?: number; result: Promise<T> } | undefined;
  return () => {
    const fresh = last && (last.settledAt === undefined || clock() - last.settledAt < ttlMs);
    if (last && fresh) return last.result;
    const entry: { settledAt?: number; result: Promise<T> } = { result: check() };
    const settle = () => {
      entry.settledAt = clock();
    };
    entry.result.then(settle, settle);
    last = entry;
    return entry.result;
  };
}

export const healthRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (app, { ctx }) => {
  const readiness = reusedFor(READY_CACHE_MS, () => checkReadiness(ctx));
  app.get(
    "/healthz",
    {
      schema: {
        summary: "Liveness",
        operationId: "healthz",
        tags: ["operations"],
        security: [],
        response: { 200: Status },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        summary: "Readiness: MinIO reachable and both buckets present",
        operationId: "readyz",
        tags: ["operations"],
        security: [],
        response: { 200: Ready, ...errorResponses(503) },
      },
    },
    async () => readiness(),
  );
};

// GET /v1/objects/{bucket}/url?key=...: a presigned GET for an existing object in one of our two
// buckets, under the API's own prefix. The object is looked up first (one HEAD to the data endpoint),
// so a missing key is a 404 rather than a link that fails later, and the download name comes from the
// original-name metadata. An artifact is found only once its execution's save has committed.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { requireScope } from "../auth";
import type { ServiceContext } from "../context";
import { apiError, errorResponses } from "../errors";
import { resolveExpiry } from "../expiry";
import {
  decodeOriginalName,
  EXECUTIONS_PREFIX,
  isExecutionId,
  OBJECT_KEY_PATTERN,
  ORIGINAL_NAME_META,
  RESULT_NAME,
  resultKey,
  safeName,
  UPLOADS_PREFIX,
} from "../keys";
import { expiresIn } from "../schemas";
import { committedAttempt } from "./executions";

const UrlResponse = Type.Object({
  bucket: Type.String(),
  key: Type.String(),
  filename: Type.String({ description: "Name the browser saves the download under" }),
  size: Type.Integer(),
  url: Type.String(),
  expires_in: Type.Integer(),
  expires_at: Type.String({ format: "date-time" }),
});

export const objectRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (app, { ctx }) => {
  const { config, storage } = ctx;
  const UrlParams = Type.Object({ bucket: Type.String({ minLength: 3, maxLength: 63 }) });
  const UrlQuery = Type.Object(
    {
      key: Type.String({ minLength: 1, maxLength: 1024, pattern: OBJECT_KEY_PATTERN }),
      expires_in: Type.Optional(expiresIn(config.presign)),
    },
    { additionalProperties: false },
  );

  // Only our buckets and prefixes, whatever else the credentials could reach; each needs its scope.
  const ours = new Map([
    [config.buckets.uploads, { prefix: UPLOADS_PREFIX, scope: "download" as const }],
    [config.buckets.artifacts, { prefix: EXECUTIONS_PREFIX, scope: "artifacts:read" as const }],
  ]);

  /** Whether an artifact key belongs to its execution's committed save: result.json, or its attempt's folder. */
  async function committedArtifact(key: string): Promise<boolean> {
    const [executionId, ...rest] = key.slice(EXECUTIONS_PREFIX.length).split("/");
    if (!executionId || !isExecutionId(executionId)) return false;
    if (rest.length === 1 && rest[0] === RESULT_NAME) return true;
    if (rest.length !== 2) return false;
    const attempt = committedAttempt(await storage.stat(config.buckets.artifacts, resultKey(executionId)));
    return attempt !== undefined && rest[0] === attempt;
  }

  app.get(
    "/v1/objects/:bucket/url",
    {
      schema: {
        summary: "Presign a download of an existing object",
        operationId: "objectUrl",
        tags: ["objects"],
        params: UrlParams,
        querystring: UrlQuery,
        response: { 200: UrlResponse, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const { bucket } = request.params;
      const { key } = request.query;
      const scope = ours.get(bucket);
      if (!scope) throw apiError("BUCKET_NOT_FOUND", `no bucket "${bucket}" here`);
      requireScope(request, scope.scope);
      const expiry = resolveExpiry(request.query.expires_in, config.presign, ctx.now());
      const missing = () => apiError("OBJECT_NOT_FOUND", `no object "${key}" in "${bucket}"`);
      if (!key.startsWith(scope.prefix)) throw missing();
      if (scope.prefix === EXECUTIONS_PREFIX && !(await committedArtifact(key))) throw missing();
      const stat = await storage.stat(bucket, key);
      if (!stat) throw missing();
      const original = decodeOriginalName(stat.metaData?.[ORIGINAL_NAME_META] as string | undefined);
      const filename = safeName(original ?? key) || "download";
      return {
        bucket,
        key,
        filename,
        size: stat.size,
        url: await storage.presignGet(bucket, key, expiry.seconds, filename),
        expires_in: expiry.seconds,
        expires_at: expiry.expiresAt,
      };
    },
  );
};

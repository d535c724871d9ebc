// GET /v1/objects/{bucket}/url?key=...: a presigned GET for an existing object in one of our two
// buckets. The object is looked up first (one HEAD to the data endpoint), so a missing key is a 404
// rather than a link that fails later, and the download name comes from the original-name metadata.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { ServiceContext } from "../context";
import { errorResponses, notFound } from "../errors";
import { resolveExpiry } from "../expiry";
import { decodeOriginalName, ORIGINAL_NAME_META, safeName } from "../keys";
import { ExpiresIn } from "../schemas";

const UrlParams = Type.Object({ bucket: Type.String({ minLength: 3, maxLength: 63 }) });
const UrlQuery = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 1024, pattern: "^[^\\u0000-\\u001f\\u007f]+$" }),
    expires_in: Type.Optional(ExpiresIn),
  },
  { additionalProperties: false },
);
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
  const ours = new Set([config.buckets.uploads, config.buckets.artifacts]);
  app.get(
    "/v1/objects/:bucket/url",
    {
      schema: {
        summary: "Presign a download of an existing object",
        tags: ["objects"],
        params: UrlParams,
        querystring: UrlQuery,
        response: { 200: UrlResponse, ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const { bucket } = request.params;
      const { key } = request.query;
      // Only our buckets, whatever else the credentials could reach.
      if (!ours.has(bucket)) throw notFound("BUCKET_NOT_FOUND", `no bucket "${bucket}" here`);
      const expiry = resolveExpiry(request.query.expires_in, config.presign, ctx.now());
      const stat = await storage.stat(bucket, key);
      if (!stat) throw notFound("OBJECT_NOT_FOUND", `no object "${key}" in "${bucket}"`);
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

// POST /v1/uploads/presign: a link for a client to upload a large file straight to MinIO, under a
// key we chose. POST (a signed form policy) is the enforcing one: MinIO itself refuses a file of the
// wrong content type or outside 1..max bytes. PUT is the simple one: SigV4 query signing cannot
// bind Content-Type or Content-Length, so only the key and the expiry are enforced.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { essence, isAllowedContentType } from "../content-types";
import type { ServiceContext } from "../context";
import { ApiError, errorResponses } from "../errors";
import { resolveExpiry } from "../expiry";
import { clientFileName } from "../file-parts";
import { ORIGINAL_NAME_META, originalNameMetadata, uploadKey } from "../keys";
import { ExpiresIn } from "../schemas";

const PresignRequest = Type.Object(
  {
    filename: Type.String({ minLength: 1, maxLength: 1024 }),
    content_type: Type.String({ minLength: 3, maxLength: 255 }),
    size: Type.Optional(Type.Integer({ minimum: 1, description: "Expected size; POST policies cap the upload at it" })),
    method: Type.Optional(Type.Union([Type.Literal("PUT"), Type.Literal("POST")], { default: "POST" })),
    expires_in: Type.Optional(ExpiresIn),
  },
  { additionalProperties: false },
);

const PresignResponse = Type.Object({
  method: Type.Union([Type.Literal("PUT"), Type.Literal("POST")]),
  url: Type.String(),
  fields: Type.Optional(
    Type.Record(Type.String(), Type.String(), { description: "POST only: form fields to send before the file" }),
  ),
  headers: Type.Record(Type.String(), Type.String(), { description: "Headers to send with the upload" }),
  bucket: Type.String(),
  file_path: Type.String(),
  safe_name: Type.String(),
  max_bytes: Type.Integer(),
  expires_in: Type.Integer(),
  expires_at: Type.String({ format: "date-time" }),
});

export const presignRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (app, { ctx }) => {
  const { config, storage } = ctx;
  const bucket = config.buckets.uploads;
  app.post(
    "/v1/uploads/presign",
    {
      schema: {
        summary: "Presign a direct-to-MinIO upload (POST policy or PUT)",
        tags: ["uploads"],
        body: PresignRequest,
        response: { 200: PresignResponse, ...errorResponses(400, 401, 413, 415) },
      },
    },
    async (request) => {
      const body = request.body;
      const expiry = resolveExpiry(body.expires_in, config.presign, ctx.now());
      const contentType = essence(body.content_type);
      if (!contentType || !isAllowedContentType(contentType, config.limits.allowedContentTypes)) {
        throw new ApiError(415, "UNSUPPORTED_CONTENT_TYPE", `content type "${body.content_type}" is not allowed`);
      }
      const maxBytes = body.size ?? config.limits.maxUploadBytes;
      if (maxBytes > config.limits.maxUploadBytes) {
        throw new ApiError(413, "FILE_TOO_LARGE", `size must be at most ${config.limits.maxUploadBytes} bytes`);
      }
      const name = clientFileName(body.filename);
      const key = uploadKey(name, ctx.now(), ctx.newId());
      const common = {
        bucket,
        file_path: key,
        safe_name: name,
        max_bytes: maxBytes,
        expires_in: expiry.seconds,
        expires_at: expiry.expiresAt,
      };
      if (body.method === "PUT") {
        return {
          method: "PUT" as const,
          url: await storage.presignPut(bucket, key, expiry.seconds),
          headers: { "Content-Type": contentType },
          ...common,
        };
      }
      const post = await storage.presignPost({
        bucket,
        key,
        contentType,
        maxBytes,
        seconds: expiry.seconds,
        metadata: { [ORIGINAL_NAME_META]: originalNameMetadata(body.filename) },
      });
      // The form carries everything (Content-Type included), so no extra headers.
      const headers: Record<string, string> = {};
      return { method: "POST" as const, url: post.url, fields: post.fields, headers, ...common };
    },
  );
};

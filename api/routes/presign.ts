// POST /v1/uploads/presign: a link for a client to upload a large file straight to MinIO, under a
// key we chose, and MinIO itself enforces the limits. POST (a signed form policy): the content type
// and 1..size bytes. PUT: the content type and the exact size, both signed headers of the link.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { essence, isAllowedContentType } from "../content-types";
import type { ServiceContext } from "../context";
import { ApiError, badRequest, errorResponses } from "../errors";
import { resolveExpiry } from "../expiry";
import { clientFileName } from "../file-parts";
import { ORIGINAL_NAME_META, originalNameMetadata, uploadKey } from "../keys";
import { ExpiresIn } from "../schemas";

const PresignRequest = Type.Object(
  {
    filename: Type.String({ minLength: 1, maxLength: 1024 }),
    content_type: Type.String({ minLength: 3, maxLength: 255 }),
    size: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          "POST: the most bytes the upload may have (default MAX_UPLOAD_BYTES). PUT: required, the exact size",
      }),
    ),
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
        response: { 200: PresignResponse, ...errorResponses(400, 401, 403, 413, 415) },
      },
      config: { scope: "presign" },
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
      const metadata = { [ORIGINAL_NAME_META]: originalNameMetadata(body.filename) };
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
        if (body.size === undefined) {
          throw badRequest("SIZE_REQUIRED", "a PUT link is bound to the exact size: send size in bytes");
        }
        const link = storage.presignPut({
          bucket,
          key,
          contentType,
          size: body.size,
          seconds: expiry.seconds,
          metadata,
        });
        return { method: "PUT" as const, url: link.url, headers: link.headers, ...common };
      }
      const post = await storage.presignPost({ bucket, key, contentType, maxBytes, seconds: expiry.seconds, metadata });
      // The form carries everything (Content-Type included), so no extra headers.
      const headers: Record<string, string> = {};
      return { method: "POST" as const, url: post.url, fields: post.fields, headers, ...common };
    },
  );
};

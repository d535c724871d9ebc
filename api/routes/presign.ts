// POST /v1/uploads/presign: a link for a client to upload a large file straight to MinIO, under a
// key we chose, and MinIO itself enforces the limits. POST (a signed form policy): the content type
// and 1..size bytes. PUT: the content type and the exact size, both signed headers of the link.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { contentTypePattern, essence } from "../content-types";
import type { ServiceContext } from "../context";
import { errorResponses } from "../errors";
import { resolveExpiry } from "../expiry";
import { clientFileName } from "../file-parts";
import { ORIGINAL_NAME_META, originalNameMetadata, uploadKey } from "../keys";
import { ClientFileName, expiresIn } from "../schemas";

function presignRequest(config: ServiceContext["config"]) {
  const common = {
    filename: ClientFileName,
    content_type: Type.String({
      pattern: contentTypePattern(config.limits.allowedContentTypes),
      maxLength: 255,
      description: `One of ${config.limits.allowedContentTypes.join(", ")}`,
    }),
    expires_in: Type.Optional(expiresIn(config.presign)),
  };
  const size = (description: string) =>
    Type.Integer({ minimum: 1, maximum: config.limits.maxUploadBytes, description });
  return Type.Union([
    Type.Object(
      {
        ...common,
        size: Type.Optional(size("The most bytes the upload may have (default: the largest upload allowed)")),
        method: Type.Optional(Type.Literal("POST", { description: "A signed form policy (the default)" })),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { ...common, size: size("The exact size of the upload"), method: Type.Literal("PUT") },
      { additionalProperties: false },
    ),
  ]);
}

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
        operationId: "presignUpload",
        tags: ["uploads"],
        body: presignRequest(config),
        response: { 200: PresignResponse, ...errorResponses(400, 401, 403, 413, 415) },
      },
      config: { scope: "presign" },
    },
    async (request) => {
      const body = request.body;
      const expiry = resolveExpiry(body.expires_in, config.presign, ctx.now());
      // The schema holds the allowed types and the size limit; `essence` lower-cases the type.
      const contentType = essence(body.content_type) as string;
      const maxBytes = body.size ?? config.limits.maxUploadBytes;
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

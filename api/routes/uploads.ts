// POST /upload (the seed's contract, answered 200) and POST /v1/uploads (the same, versioned,
// answered 201): one multipart part named `file`, streamed to uploads/<date>/<uuid>/<safe-name>.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import type { ServiceContext } from "../context";
import { apiError, errorResponses, fieldTooLarge } from "../errors";
import { resolveExpiry } from "../expiry";
import { allowedContentType, clientFileName, StagedFiles, type StoredFile, storedFileAnswer } from "../file-parts";
import { uploadKey } from "../keys";
import { expiresQuery, multipartBody, UploadResult } from "../schemas";

export const uploadRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (app, { ctx }) => {
  const { config, storage, metrics } = ctx;
  const bucket = config.buckets.uploads;
  const limits = {
    fileSize: config.limits.maxUploadBytes,
    files: 1,
    // A few small text fields are tolerated (and ignored) for forms that send extras.
    fields: 4,
    fieldSize: 1024,
    parts: 5,
    fieldNameSize: 100,
    headerPairs: 20,
  };
  const UploadForm = multipartBody(
    { file: { kind: "file", description: "The file; its name and content type are taken from the part" } },
    ["file"],
    { extraFields: limits.fields, fieldSize: limits.fieldSize },
  );
  const ExpiresQuery = expiresQuery(config.presign);

  async function receive(request: FastifyRequest): Promise<StoredFile> {
    const staged = new StagedFiles(storage, request.log);
    return staged.atomically(async () => {
      let received = false;
      for await (const part of request.parts({ limits })) {
        if (part.type === "field") {
          // Ignored, but within the documented limit: a cut-off value is a refused request.
          if (part.valueTruncated) throw fieldTooLarge(part.fieldname, limits.fieldSize);
          continue;
        }
        if (part.fieldname !== "file") {
          throw apiError(
            "UNEXPECTED_PART",
            `unexpected multipart part "${part.fieldname}"; send one file part named "file"`,
          );
        }
        const contentType = allowedContentType(part, config.limits.allowedContentTypes);
        const key = uploadKey(clientFileName(part.filename), ctx.now(), ctx.newId());
        await staged.stage(part, { bucket, key, contentType, maxBytes: config.limits.maxUploadBytes, holdSmall: true });
        received = true;
      }
      if (!received) throw apiError("MISSING_FILE", 'the multipart body has no file part named "file"');
      // The whole body has been read and accepted: only now does the file become visible.
      const [stored] = await staged.commitAll();
      return stored as StoredFile;
    });
  }

  for (const [url, status, summary, operationId] of [
    ["/upload", 200, "Upload a file (the original contract)", "upload"],
    ["/v1/uploads", 201, "Upload a file", "createUpload"],
  ] as const) {
    app.post(
      url,
      {
        schema: {
          summary,
          operationId,
          tags: ["uploads"],
          consumes: ["multipart/form-data"],
          querystring: ExpiresQuery,
          response: { [status]: UploadResult, ...errorResponses(400, 401, 403, 413, 415, 503) },
        },
        config: { openapiBody: UploadForm, scope: "upload", streamsFiles: true },
      },
      async (request, reply) => {
        // Before reading the body: a refused expiry must not cost an upload.
        const expiry = resolveExpiry(request.query.expires_in, config.presign, ctx.now());
        const stored = await receive(request);
        metrics.uploadedBytes.inc({ bucket }, stored.size);
        const name = stored.key.slice(stored.key.lastIndexOf("/") + 1);
        return reply.code(status).send({
          bucket,
          filename: stored.originalName,
          safe_name: name,
          ...(await storedFileAnswer(storage, stored, expiry, name)),
        });
      },
    );
  }
};

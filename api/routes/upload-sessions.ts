// Resumable uploads for browsers: a session is a multipart upload under uploads/, whose parts the
// client PUTs straight to MinIO through presigned links bound to each part's number and exact
// length. The API never sees the bytes. The session id is the signed session (upload-sessions.ts),
// so it belongs to the key name that created it: any other key gets 404.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { contentTypePattern, essence } from "../content-types";
import type { ServiceContext } from "../context";
import { apiError, errorResponses } from "../errors";
import { resolveExpiry } from "../expiry";
import { clientFileName, type StoredFile, storedFileAnswer } from "../file-parts";
import { decodeOriginalName, ORIGINAL_NAME_META, originalNameMetadata, uploadKey } from "../keys";
import { ClientFileName, expiresQuery, UploadResult } from "../schemas";
import { isS3Error } from "../storage";
import { partCount, partLength, sessionCodec, sessionPartSize, type UploadSession } from "../upload-sessions";

/**
 * Longest session id a route takes (the router's parameter limit is set above it, in app.ts). Ids
 * are about 300 to 800 characters; even percent-encoded, 1024 characters stay under Node's 16 KiB
 * request-line limit, so a too-long id is our 400, never the parser's 431.
 */
export const MAX_SESSION_ID_LENGTH = 1024;
/** Part links asked for in one call. */
const MAX_LINKS_PER_CALL = 100;

const SessionParams = Type.Object({
  session_id: Type.String({
    minLength: 3,
    maxLength: MAX_SESSION_ID_LENGTH,
    pattern: "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
    description: "The id createUploadSession answered",
  }),
});

const SessionAnswer = Type.Object({
  session_id: Type.String({ description: "Keep it to resume: it is the session (signed), valid until expires_at" }),
  bucket: Type.String(),
  file_path: Type.String({ description: "Where the file will be, once completed" }),
  size: Type.Integer(),
  content_type: Type.String(),
  part_size: Type.Integer({ description: "Every part has this length but the last, which holds the rest" }),
  part_count: Type.Integer(),
  expires_at: Type.String({ format: "date-time" }),
});

const UploadedParts = Type.Object({
  part_count: Type.Integer(),
  part_size: Type.Integer(),
  size: Type.Integer(),
  uploaded_bytes: Type.Integer(),
  parts: Type.Array(Type.Object({ part_number: Type.Integer(), size: Type.Integer(), etag: Type.String() })),
});

const PartLinks = Type.Object({
  parts: Type.Array(
    Type.Object({
      part_number: Type.Integer(),
      size: Type.Integer({ description: "The exact length to send: the link is refused for any other" }),
      url: Type.String(),
      headers: Type.Record(Type.String(), Type.String(), { description: "Headers to send with the part" }),
    }),
  ),
  expires_at: Type.String({ format: "date-time", description: "When these links stop working" }),
});

const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();

export const uploadSessionRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (app, { ctx }) => {
  const { config, storage, metrics } = ctx;
  const bucket = config.buckets.uploads;
  const codec = sessionCodec(config.minio.secretKey);
  const nowSeconds = () => Math.floor(ctx.now().getTime() / 1000);

  const answer = (session: UploadSession, contentType: string) => ({
    session_id: codec.encode(session),
    bucket,
    file_path: session.key,
    size: session.size,
    content_type: contentType,
    part_size: session.partSize,
    part_count: partCount(session),
    expires_at: iso(session.expiresAt),
  });

  /** The request's session: 404 for an id that is not a session of this key, 410 once expired. */
  function sessionOf(request: Pick<FastifyRequest, "client"> & { params: { session_id: string } }): UploadSession {
    const session = codec.decode(request.params.session_id);
    if (!session || session.owner !== request.client?.name) {
      throw apiError("SESSION_NOT_FOUND", "no upload session with this id for this API key");
    }
    if (session.expiresAt <= nowSeconds()) {
      // Nothing is left behind: what was uploaded goes (the janitor would do it later otherwise).
      const abort = () => storage.data.abortMultipartUpload(bucket, session.key, session.uploadId);
      abort().catch(() => storage.retryLater(`abort expired session ${session.key}`, abort));
      throw apiError("SESSION_EXPIRED", `the upload session expired at ${iso(session.expiresAt)}; start a new one`);
    }
    return session;
  }

  /** The parts MinIO holds for a session; 404 once the upload was completed or aborted. */
  async function uploadedParts(session: UploadSession) {
    // minio-js has ListParts (paged) but marks it protected: it is the S3 call we need.
    const client = storage.data as unknown as {
      listParts(bucket: string, key: string, uploadId: string): Promise<{ part: number; etag: string; size: number }[]>;
    };
    try {
      return (await client.listParts(bucket, session.key, session.uploadId)).sort((a, b) => a.part - b.part);
    } catch (err) {
      if (isS3Error(err, "NoSuchUpload")) {
        throw apiError("SESSION_NOT_FOUND", "this upload session was completed or aborted");
      }
      throw err;
    }
  }

  const sessionRequest = Type.Object(
    {
      filename: ClientFileName,
      content_type: Type.String({
        pattern: contentTypePattern(config.limits.allowedContentTypes),
        maxLength: 255,
        description: `One of ${config.limits.allowedContentTypes.join(", ")}`,
      }),
      // Above the limit: 413 FILE_TOO_LARGE (errors.ts), before anything is created.
      size: Type.Integer({
        minimum: 1,
        maximum: config.limits.maxUploadBytes,
        description: "The file's exact size in bytes",
      }),
    },
    { additionalProperties: false },
  );

  app.post(
    "/v1/uploads/sessions",
    {
      schema: {
        summary: "Start a resumable upload in presigned parts (browsers, large files)",
        operationId: "createUploadSession",
        tags: ["upload sessions"],
        body: sessionRequest,
        response: { 201: SessionAnswer, ...errorResponses(400, 401, 403, 413, 415, 503) },
      },
      config: { scope: "upload" },
    },
    async (request, reply) => {
      const { filename, size } = request.body;
      const contentType = essence(request.body.content_type) as string;
      const key = uploadKey(clientFileName(filename), ctx.now(), ctx.newId());
      const uploadId = await storage.data.initiateNewMultipartUpload(bucket, key, {
        "Content-Type": contentType,
        [`X-Amz-Meta-${ORIGINAL_NAME_META}`]: originalNameMetadata(filename),
      });
      const session: UploadSession = {
        uploadId,
        key,
        size,
        partSize: sessionPartSize(size, config.multipart.partBytes),
        owner: request.client?.name ?? "",
        expiresAt: nowSeconds() + config.multipart.sessionSeconds,
      };
      metrics.uploadSessions.inc({ outcome: "started" });
      return reply.code(201).send(answer(session, contentType));
    },
  );

  app.post(
    "/v1/uploads/sessions/:session_id/parts",
    {
      schema: {
        summary: "Presigned links for some parts of a session",
        operationId: "presignUploadParts",
        tags: ["upload sessions"],
        params: SessionParams,
        body: Type.Object(
          {
            part_numbers: Type.Array(Type.Integer({ minimum: 1 }), {
              minItems: 1,
              maxItems: MAX_LINKS_PER_CALL,
              uniqueItems: true,
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: PartLinks, ...errorResponses(400, 401, 403, 404, 409, 410, 414, 415) },
      },
      config: { scope: "upload" },
    },
    async (request) => {
      const session = sessionOf(request);
      const count = partCount(session);
      const wrong = request.body.part_numbers.filter((n) => n > count);
      if (wrong.length > 0) {
        throw apiError("INVALID_PART_NUMBER", `this session has parts 1 to ${count}; asked for ${wrong.join(", ")}`);
      }
      // The links never outlive the session, nor the longest presign the service grants.
      const seconds = Math.min(config.presign.maxSeconds, session.expiresAt - nowSeconds());
      const parts = request.body.part_numbers.map((n) => {
        const size = partLength(session, n);
        const link = storage.presignPart({
          bucket,
          key: session.key,
          uploadId: session.uploadId,
          partNumber: n,
          size,
          seconds,
        });
        return { part_number: n, size, url: link.url, headers: link.headers };
      });
      return { parts, expires_at: iso(nowSeconds() + seconds) };
    },
  );

  app.get(
    "/v1/uploads/sessions/:session_id/parts",
    {
      schema: {
        summary: "The parts uploaded so far (to resume after a reload or a lost connection)",
        operationId: "listUploadParts",
        tags: ["upload sessions"],
        params: SessionParams,
        response: { 200: UploadedParts, ...errorResponses(400, 401, 403, 404, 410, 414, 503) },
      },
      config: { scope: "upload" },
    },
    async (request) => {
      const session = sessionOf(request);
      const parts = await uploadedParts(session);
      return {
        part_count: partCount(session),
        part_size: session.partSize,
        size: session.size,
        uploaded_bytes: parts.reduce((sum, p) => sum + p.size, 0),
        parts: parts.map((p) => ({ part_number: p.part, size: p.size, etag: p.etag })),
      };
    },
  );

  app.post(
    "/v1/uploads/sessions/:session_id/complete",
    {
      schema: {
        summary: "Complete a session once every part is uploaded: the file appears whole",
        operationId: "completeUploadSession",
        tags: ["upload sessions"],
        params: SessionParams,
        querystring: expiresQuery(config.presign),
        response: { 201: UploadResult, ...errorResponses(400, 401, 403, 404, 409, 410, 414, 503) },
      },
      config: { scope: "upload" },
    },
    async (request, reply) => {
      const expiry = resolveExpiry(request.query.expires_in, config.presign, ctx.now());
      const session = sessionOf(request);
      const parts = await uploadedParts(session);
      const count = partCount(session);
      const held = new Map(parts.map((p) => [p.part, p]));
      const missing = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !held.has(n));
      if (missing.length > 0) {
        throw apiError("UPLOAD_INCOMPLETE", `parts ${missing.join(", ")} of ${count} are not uploaded yet`);
      }
      const astray = parts.filter((p) => p.part > count || p.size !== partLength(session, p.part));
      if (astray.length > 0) {
        const p = astray[0] as (typeof parts)[number];
        throw apiError(
          "PART_SIZE_MISMATCH",
          `part ${p.part} has ${p.size} bytes, expected ${p.part > count ? "no such part" : partLength(session, p.part)}; upload it again`,
        );
      }
      const done = await storage.data.completeMultipartUpload(
        bucket,
        session.key,
        session.uploadId,
        parts.map((p) => ({ part: p.part, etag: p.etag })),
      );
      metrics.uploadSessions.inc({ outcome: "completed" });
      metrics.uploadedBytes.inc({ bucket }, session.size);
      // The name and type the session started with live in the object's metadata, not in the id.
      const stat = await storage.stat(bucket, session.key);
      const name = session.key.slice(session.key.lastIndexOf("/") + 1);
      const stored: StoredFile = {
        bucket,
        key: session.key,
        originalName: decodeOriginalName(stat?.metaData?.[ORIGINAL_NAME_META]) ?? name,
        size: session.size,
        contentType: stat?.metaData?.["content-type"] ?? "application/octet-stream",
        etag: done.etag,
      };
      // The same answer as POST /v1/uploads.
      return reply.code(201).send({
        bucket,
        filename: stored.originalName,
        safe_name: name,
        ...(await storedFileAnswer(storage, stored, expiry, name)),
      });
    },
  );

  app.delete(
    "/v1/uploads/sessions/:session_id",
    {
      schema: {
        summary: "Abort a session: its parts are deleted",
        operationId: "abortUploadSession",
        tags: ["upload sessions"],
        params: SessionParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 410, 414, 503) },
      },
      config: { scope: "upload" },
    },
    async (request, reply) => {
      const session = sessionOf(request);
      await uploadedParts(session); // 404 when it was completed or aborted already
      await storage.data.abortMultipartUpload(bucket, session.key, session.uploadId);
      metrics.uploadSessions.inc({ outcome: "aborted" });
      return reply.code(204).send(null);
    },
  );
};

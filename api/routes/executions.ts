// The seed's save_execution_result as two routes:
//   POST /v1/executions/{executionId}/artifacts  multipart: `result` (JSON, as a field or a file part)
//        plus output files in parts named `files`; stored as executions/{id}/result.json (indent 2)
//        and executions/{id}/{safe-name}.
//   GET  /v1/executions/{executionId}/artifacts  what is stored, with sizes, storage class and links.
// An execution's artifacts are written once: a second POST is a 409, and a POST that fails half-way
// removes what it wrote. result.json is written last, so its presence means the set is complete.
import type { MultipartFile } from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { BucketItem } from "minio";
import { Type } from "typebox";
import type { ServiceContext } from "../context";
import { ApiError, badRequest, errorResponses, notFound } from "../errors";
import { resolveExpiry } from "../expiry";
import { allowedContentType, clientFileName, RequestWrites, type StoredFile } from "../file-parts";
import { artifactKey, EXECUTION_ID_PATTERN, executionPrefix, RESULT_NAME, safeName } from "../keys";
import { ExpiresQuery, ListedArtifact, multipartBody, StoredArtifact } from "../schemas";

/** Largest result JSON accepted (it is parsed in memory to be re-indented). */
export const RESULT_MAX_BYTES = 1024 * 1024;
/** Most artifacts listed for one execution (one page of ListObjectsV2). */
const LIST_LIMIT = 1000;
/** HEAD requests in flight at once while listing. */
const STAT_CONCURRENCY = 8;

const Params = Type.Object({
  executionId: Type.String({ pattern: EXECUTION_ID_PATTERN, description: "Letters, digits, - and _, at most 128" }),
});

const ArtifactsForm = multipartBody(
  {
    result: {
      description: "The execution result as JSON (a field, or a file part of type application/json)",
      binary: false,
    },
    files: { description: "Output files (repeat the part); names are sanitised", binary: true },
  },
  ["result"],
);

const SaveResponse = Type.Object({
  execution_id: Type.String(),
  result: StoredArtifact,
  files: Type.Array(StoredArtifact),
});

const ListResponse = Type.Object({
  execution_id: Type.String(),
  artifacts: Type.Array(ListedArtifact),
  expires_in: Type.Integer(),
  expires_at: Type.String({ format: "date-time" }),
});

function parseResult(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("INVALID_RESULT", "the result part is not valid JSON");
  }
}

async function readBounded(part: MultipartFile, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of part.file) {
    size += (chunk as Buffer).length;
    if (size > max) throw new ApiError(413, "RESULT_TOO_LARGE", `the result is larger than ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (part.file.truncated) throw new ApiError(413, "RESULT_TOO_LARGE", `the result is larger than ${max} bytes`);
  return Buffer.concat(chunks).toString("utf8");
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) {
    results.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  }
  return results;
}

async function listObjects(ctx: ServiceContext, prefix: string): Promise<BucketItem[]> {
  const items: BucketItem[] = [];
  const stream = ctx.storage.data.listObjectsV2(ctx.config.buckets.artifacts, prefix, true);
  for await (const item of stream as AsyncIterable<BucketItem>) {
    if (item.name) items.push(item);
    if (items.length >= LIST_LIMIT) {
      stream.destroy();
      break;
    }
  }
  return items;
}

export const executionRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async (app, { ctx }) => {
  const { config, storage, metrics } = ctx;
  const bucket = config.buckets.artifacts;
  const maxFiles = config.limits.maxFilesPerRequest;
  const limits = {
    fileSize: config.limits.maxUploadBytes,
    // +1: the result may come as a file part too; the output-file count is checked below.
    files: maxFiles + 1,
    fields: 4,
    fieldSize: RESULT_MAX_BYTES,
    parts: maxFiles + 5,
    fieldNameSize: 100,
    headerPairs: 20,
  };

  app.post(
    "/v1/executions/:executionId/artifacts",
    {
      schema: {
        summary: "Save an execution's result and output files",
        tags: ["executions"],
        consumes: ["multipart/form-data"],
        params: Params,
        querystring: ExpiresQuery,
        response: { 201: SaveResponse, ...errorResponses(400, 401, 409, 413, 415, 503) },
      },
      config: { openapiBody: ArtifactsForm },
    },
    async (request, reply) => {
      const { executionId } = request.params;
      const expiry = resolveExpiry(request.query.expires_in, config.presign, ctx.now());
      const resultKey = artifactKey(executionId, RESULT_NAME);
      if (await storage.stat(bucket, resultKey))
        throw new ApiError(409, "ALREADY_SAVED", `execution "${executionId}" already has its artifacts`);

      const writes = new RequestWrites(storage, request.log);
      const { result, files } = await writes.atomically(async () => {
        let resultValue: unknown;
        let haveResult = false;
        const files: StoredFile[] = [];
        const names = new Set<string>([RESULT_NAME]);
        for await (const part of request.parts({ limits })) {
          if (part.fieldname === "result") {
            if (haveResult) throw badRequest("DUPLICATE_RESULT", "send one result part");
            if (part.type === "field") {
              if (part.valueTruncated) {
                throw new ApiError(413, "RESULT_TOO_LARGE", `the result is larger than ${RESULT_MAX_BYTES} bytes`);
              }
              // @fastify/multipart has already parsed a field sent as application/json.
              resultValue = typeof part.value === "string" ? parseResult(part.value) : part.value;
            } else {
              resultValue = parseResult(await readBounded(part, RESULT_MAX_BYTES));
            }
            haveResult = true;
            continue;
          }
          if (part.type === "field") continue;
          if (part.fieldname !== "files") {
            throw badRequest("UNEXPECTED_PART", `unexpected file part "${part.fieldname}"; output files go in "files"`);
          }
          if (files.length >= maxFiles) {
            throw new ApiError(413, "TOO_MANY_FILES", `at most ${maxFiles} output files per request`);
          }
          const contentType = allowedContentType(part, config.limits.allowedContentTypes);
          const name = clientFileName(part.filename);
          if (names.has(name)) throw badRequest("DUPLICATE_NAME", `two artifacts would be named "${name}"`);
          names.add(name);
          const key = artifactKey(executionId, name);
          files.push(
            await writes.storeFile(part, { bucket, key, contentType, maxBytes: config.limits.maxUploadBytes }),
          );
        }
        if (!haveResult) throw badRequest("MISSING_RESULT", 'the multipart body has no "result" part');
        const json = Buffer.from(JSON.stringify(resultValue, null, 2));
        const { etag } = await storage.data.putObject(bucket, resultKey, json, json.length, {
          "Content-Type": "application/json",
        });
        writes.add(bucket, resultKey);
        const result: StoredFile = {
          bucket,
          key: resultKey,
          originalName: RESULT_NAME,
          size: json.length,
          contentType: "application/json",
          etag,
        };
        return { result, files };
      });

      const describe = async (stored: StoredFile) => {
        const name = stored.key.slice(executionPrefix(executionId).length);
        metrics.uploadedBytes.inc({ bucket }, stored.size);
        return {
          name,
          file_path: stored.key,
          size: stored.size,
          content_type: stored.contentType,
          etag: stored.etag,
          download_url: await storage.presignGet(bucket, stored.key, expiry.seconds, name),
          expires_in: expiry.seconds,
          expires_at: expiry.expiresAt,
        };
      };
      return reply.code(201).send({
        execution_id: executionId,
        result: await describe(result),
        files: await Promise.all(files.map(describe)),
      });
    },
  );

  app.get(
    "/v1/executions/:executionId/artifacts",
    {
      schema: {
        summary: "List an execution's artifacts with presigned links",
        tags: ["executions"],
        params: Params,
        querystring: ExpiresQuery,
        response: { 200: ListResponse, ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const { executionId } = request.params;
      const expiry = resolveExpiry(request.query.expires_in, config.presign, ctx.now());
      const prefix = executionPrefix(executionId);
      const items = await listObjects(ctx, prefix);
      if (items.length === 0) throw notFound("EXECUTION_NOT_FOUND", `no artifacts for execution "${executionId}"`);
      // The listing has no storage class or content type: one HEAD per object gives both.
      // Objects removed between the listing and the HEAD are left out.
      const stats = await mapLimited(items, STAT_CONCURRENCY, (item) => storage.stat(bucket, item.name as string));
      const artifacts = [];
      for (const [i, item] of items.entries()) {
        const stat = stats[i];
        if (!stat) continue;
        const key = item.name as string;
        const name = key.slice(prefix.length);
        const meta = stat.metaData ?? {};
        artifacts.push({
          name,
          file_path: key,
          size: stat.size,
          content_type: String(meta["content-type"] ?? "application/octet-stream"),
          etag: stat.etag,
          last_modified: stat.lastModified.toISOString(),
          // MinIO reports STANDARD by omission, and the tier's name once an object has moved there.
          storage_class: String(meta["x-amz-storage-class"] ?? "STANDARD"),
          download_url: await storage.presignGet(bucket, key, expiry.seconds, safeName(name) || "download"),
        });
      }
      return { execution_id: executionId, artifacts, expires_in: expiry.seconds, expires_at: expiry.expiresAt };
    },
  );
};

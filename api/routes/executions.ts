// The seed's save_execution_result as two routes:
//   POST /v1/executions/{executionId}/artifacts  multipart: `result` (JSON, as a field or a file part)
//        plus output files in parts named `files`; stored as executions/{id}/result.json (indent 2)
//        and executions/{id}/{attempt}/{safe-name}.
//   GET  /v1/executions/{executionId}/artifacts  what is stored, with sizes, storage class and links.
// An execution's artifacts are saved once and all at once. A save streams its files into a folder of
// its own (executions/{id}/{attempt}/), staged and invisible; once the whole request has been read
// it commits them, then writes result.json with `If-None-Match: *`, the one commit point: of several
// saves of one id exactly one writes it, the others get 409. Readers follow result.json's attempt,
// so they see a whole set or nothing, and a refused save leaves nothing behind (its staged files are
// aborted, never deleted: the API's MinIO identity cannot delete).
import type { MultipartFile } from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import type { BucketItem, BucketItemStat } from "minio";
import { Type } from "typebox";
import type { ServiceContext } from "../context";
import { apiError, errorResponses, fieldTooLarge } from "../errors";
import { resolveExpiry } from "../expiry";
import { allowedContentType, clientFileName, StagedFiles, type StoredFile, storedFileAnswer } from "../file-parts";
import {
  ATTEMPT_META,
  artifactKey,
  attemptPrefix,
  EXECUTION_ID_PATTERN,
  RESULT_NAME,
  resultKey,
  safeName,
} from "../keys";
import { expiresQuery, ListedArtifact, multipartBody, StoredArtifact } from "../schemas";
import { isS3Error, statAfterFailure } from "../storage";

/** Largest result JSON accepted (it is parsed in memory to be re-indented). */
export const RESULT_MAX_BYTES = 1024 * 1024;
/** Most artifacts listed for one execution (one page of ListObjectsV2). */
const LIST_LIMIT = 1000;
/** HEAD requests in flight at once while listing. */
const STAT_CONCURRENCY = 8;

const Params = Type.Object({
  executionId: Type.String({ pattern: EXECUTION_ID_PATTERN, description: "Letters, digits, - and _, at most 128" }),
});

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

const alreadySaved = (executionId: string) =>
  apiError("ALREADY_SAVED", `execution "${executionId}" already has its artifacts`);
const resultTooLarge = () => apiError("RESULT_TOO_LARGE", `the result is larger than ${RESULT_MAX_BYTES} bytes`);

function parseResult(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw apiError("INVALID_RESULT", "the result part is not valid JSON");
  }
}

async function readBounded(part: MultipartFile, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of part.file) {
    size += (chunk as Buffer).length;
    if (size > max) throw resultTooLarge();
    chunks.push(chunk as Buffer);
  }
  if (part.file.truncated) throw resultTooLarge();
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
  const stream = ctx.storage.data.listObjectsV2(ctx.config.buckets.artifacts, prefix, false);
  for await (const item of stream as AsyncIterable<BucketItem>) {
    if (item.name) items.push(item);
    if (items.length >= LIST_LIMIT) {
      stream.destroy();
      break;
    }
  }
  return items;
}

/** The attempt folder a committed result.json names, or undefined when there is no commit. */
export function committedAttempt(stat: BucketItemStat | undefined): string | undefined {
  const attempt = stat?.metaData?.[ATTEMPT_META];
  return typeof attempt === "string" && attempt ? attempt : undefined;
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
  const ArtifactsForm = multipartBody(
    {
      result: {
        kind: "json",
        description: "The execution result: JSON, as a field or a file part of type application/json",
      },
      files: { kind: "files", description: "Output files (repeat the part); names are sanitised", maxItems: maxFiles },
    },
    ["result"],
    { extraFields: limits.fields - 1, fieldSize: limits.fieldSize },
  );
  const ExpiresQuery = expiresQuery(config.presign);

  /** Reads the whole body: the result (parsed) and the output files (staged). */
  async function receive(
    request: FastifyRequest,
    staged: StagedFiles,
    executionId: string,
    attempt: string,
  ): Promise<{ result: unknown; files: Omit<StoredFile, "etag">[] }> {
    let result: unknown;
    let haveResult = false;
    const files: Omit<StoredFile, "etag">[] = [];
    const names = new Set<string>([RESULT_NAME]);
    for await (const part of request.parts({ limits })) {
      if (part.fieldname === "result") {
        if (haveResult) throw apiError("DUPLICATE_RESULT", "send one result part");
        if (part.type === "field") {
          if (part.valueTruncated) throw resultTooLarge();
          // @fastify/multipart has already parsed a field sent as application/json.
          result = typeof part.value === "string" ? parseResult(part.value) : part.value;
        } else {
          result = parseResult(await readBounded(part, RESULT_MAX_BYTES));
        }
        haveResult = true;
        continue;
      }
      if (part.type === "field") {
        // Ignored, but within the documented limit: a cut-off value is a refused request.
        if (part.valueTruncated) throw fieldTooLarge(part.fieldname, limits.fieldSize);
        continue;
      }
      if (part.fieldname !== "files") {
        throw apiError("UNEXPECTED_PART", `unexpected file part "${part.fieldname}"; output files go in "files"`);
      }
      if (files.length >= maxFiles) {
        throw apiError("TOO_MANY_FILES", `at most ${maxFiles} output files per request`);
      }
      const contentType = allowedContentType(part, config.limits.allowedContentTypes);
      const name = clientFileName(part.filename);
      if (names.has(name)) throw apiError("DUPLICATE_NAME", `two artifacts would be named "${name}"`);
      names.add(name);
      const key = artifactKey(executionId, attempt, name);
      files.push(await staged.stage(part, { bucket, key, contentType, maxBytes: config.limits.maxUploadBytes }));
    }
    if (!haveResult) throw apiError("MISSING_RESULT", 'the multipart body has no "result" part');
    return { result, files };
  }

  /** Writes result.json if no save of this id has: the commit. 409 when another save won. */
  async function commitResult(executionId: string, attempt: string, result: unknown): Promise<StoredFile> {
    const key = resultKey(executionId);
    const json = Buffer.from(JSON.stringify(result, null, 2));
    const stored = (etag: string) => ({
      bucket,
      key,
      originalName: RESULT_NAME,
      size: json.length,
      contentType: "application/json",
      etag,
    });
    try {
      const { etag } = await storage.data.putObject(bucket, key, json, json.length, {
        "Content-Type": "application/json",
        "If-None-Match": "*",
        [`X-Amz-Meta-${ATTEMPT_META}`]: attempt,
      });
      return stored(etag);
    } catch (err) {
      // The write may have happened although its answer was lost (a MinIO node died in between; or
      // the client's own retry of it then met our result.json): result.json naming this attempt is
      // this save's commit, whatever the error said. Found by `npm run faults`.
      const existing = await statAfterFailure(storage.data, bucket, key);
      if (existing && committedAttempt(existing) === attempt) return stored(existing.etag);
      if (isS3Error(err, "PreconditionFailed")) throw alreadySaved(executionId);
      throw err;
    }
  }

  app.post(
    "/v1/executions/:executionId/artifacts",
    {
      schema: {
        summary: "Save an execution's result and output files",
        operationId: "saveArtifacts",
        tags: ["executions"],
        consumes: ["multipart/form-data"],
        params: Params,
        querystring: ExpiresQuery,
        response: { 201: SaveResponse, ...errorResponses(400, 401, 403, 409, 413, 415, 503) },
      },
      config: { openapiBody: ArtifactsForm, scope: "artifacts:write", streamsFiles: true },
    },
    async (request, reply) => {
      const { executionId } = request.params;
      const expiry = resolveExpiry(request.query.expires_in, config.presign, ctx.now());
      // A cheap early answer for the common case; the conditional write of result.json decides.
      if (await storage.stat(bucket, resultKey(executionId))) throw alreadySaved(executionId);

      const attempt = ctx.newId();
      const staged = new StagedFiles(storage, request.log);
      const received = await staged.atomically(async () => {
        const body = await receive(request, staged, executionId, attempt);
        // Checked again before committing anything: a save that lost while it streamed leaves nothing.
        if (await storage.stat(bucket, resultKey(executionId))) throw alreadySaved(executionId);
        return body;
      });
      // Committed files sit in this attempt's folder, which no reader follows until result.json names it.
      const files = await staged.commitAll();
      const result = await commitResult(executionId, attempt, received.result);

      const describe = async (stored: StoredFile) => {
        const name = stored.key.slice(stored.key.lastIndexOf("/") + 1);
        metrics.uploadedBytes.inc({ bucket }, stored.size);
        return { name, ...(await storedFileAnswer(storage, stored, expiry, name)) };
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
        operationId: "listArtifacts",
        tags: ["executions"],
        params: Params,
        querystring: ExpiresQuery,
        response: { 200: ListResponse, ...errorResponses(400, 401, 403, 404, 503) },
      },
      config: { scope: "artifacts:read" },
    },
    async (request) => {
      const { executionId } = request.params;
      const expiry = resolveExpiry(request.query.expires_in, config.presign, ctx.now());
      const result = await storage.stat(bucket, resultKey(executionId));
      const attempt = committedAttempt(result);
      if (!result || !attempt) throw apiError("EXECUTION_NOT_FOUND", `no artifacts for execution "${executionId}"`);
      const files = await listObjects(ctx, attemptPrefix(executionId, attempt));
      // The listing has no storage class or content type: one HEAD per object gives both.
      // result.json's HEAD is the one already made.
      const stats = await mapLimited(files, STAT_CONCURRENCY, (item) => storage.stat(bucket, item.name as string));
      const entries: [string, BucketItemStat | undefined][] = [
        [resultKey(executionId), result],
        ...files.map((item, i): [string, BucketItemStat | undefined] => [item.name as string, stats[i]]),
      ];
      const artifacts = [];
      for (const [key, stat] of entries) {
        if (!stat) continue;
        const name = key.slice(key.lastIndexOf("/") + 1);
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

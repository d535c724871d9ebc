// One error shape for every answer that is not a success: `{ error: { code, message } }`.
// 4xx messages explain what the caller did wrong; 5xx messages are fixed strings, so no stack,
// host name or MinIO message ever reaches a client (the details go to the log instead).
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { MINIO_UNAVAILABLE_CODES } from "../rules/minio-unavailable";
import { ERROR_CODES, type ErrorCode } from "./error-codes";
import { type Metrics, routeLabel } from "./metrics";

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "Stable, machine-readable code, e.g. FILE_TOO_LARGE" }),
      message: Type.String(),
    }),
  },
  { description: "Every error answer has this shape" },
);

/** Seconds a client should wait before retrying while MinIO is unreachable. */
export const RETRY_AFTER_SECONDS = 5;

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** An error answer by its code; the status comes from the one list (error-codes.ts). */
export function apiError(code: ErrorCode, message: string, headers: Record<string, string> = {}): ApiError {
  return new ApiError(ERROR_CODES[code], code, message, headers);
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** 413 for a form field over its size limit (busboy cuts it instead of failing). */
export function fieldTooLarge(name: string, max: number): ApiError {
  return apiError("FIELD_TOO_LARGE", `field "${name.slice(0, 100)}" is larger than ${max} bytes`);
}

/** 503 for an upload this instance has no room for (too many in flight, no part buffer free). */
export function tooBusy(reason: string): ApiError {
  return apiError("TOO_BUSY", `${reason}, retry later`, {
    "retry-after": String(RETRY_AFTER_SECONDS),
  });
}

export function storageUnavailable(): ApiError {
  return apiError("STORAGE_UNAVAILABLE", "object storage is unavailable, retry later", {
    "retry-after": String(RETRY_AFTER_SECONDS),
  });
}

// Network failures that mean "MinIO is not there right now", as opposed to a bug or a refusal.
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);
// MinIO's codes for "not now" (rules/minio-unavailable.ts), a full disk, and the ones it answers
// when completing parts it had accepted but can no longer find: below write quorum (nodes lost, see
// RELIABILITY.md) a completion can fail with InvalidPart or NoSuchUpload although every part was
// acknowledged. The request's upload is aborted either way; a retry succeeds once MinIO is whole.
const BUSY_CODES = new Set([...MINIO_UNAVAILABLE_CODES, "XMinioStorageFull", "InvalidPart", "NoSuchUpload"]);

/** True when an error from the minio client means the storage is (temporarily) unreachable. */
export function isStorageUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (NETWORK_CODES.has(code) || BUSY_CODES.has(code))) return true;
  // minio-js throws a plain Error with this text for the statuses it deems retryable (408, 429,
  // 499, 5xx; its retries are off, the client retries on our 503). MinIO answers 499 for a request
  // it cancelled itself while stopping (`npm run faults`, hot MinIO stopped): not the API's doing.
  if (/Retryable HTTP status: \d{3}|socket hang up/.test(err.message)) return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isStorageUnavailable(cause);
}

/** Errors raised by Fastify and @fastify/multipart, by their `code`, as our codes. */
const FRAMEWORK_ERRORS: Record<string, ErrorCode> = {
  FST_REQ_FILE_TOO_LARGE: "FILE_TOO_LARGE",
  FST_FILES_LIMIT: "TOO_MANY_FILES",
  // The parts limit is the sum of the others: they refuse first. Kept as a defence.
  FST_PARTS_LIMIT: "TOO_MANY_PARTS",
  FST_FIELDS_LIMIT: "TOO_MANY_FIELDS",
  FST_INVALID_MULTIPART_CONTENT_TYPE: "NOT_MULTIPART",
  FST_PROTO_VIOLATION: "MALFORMED_MULTIPART",
  FST_INVALID_JSON_FIELD_ERROR: "INVALID_JSON_FIELD",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_BODY_TOO_LARGE: "BODY_TOO_LARGE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "INVALID_BODY",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "INVALID_BODY",
  FST_ERR_CTP_EMPTY_TYPE: "INVALID_BODY",
  FST_ERR_CTP_INVALID_JSON_BODY: "INVALID_BODY",
};

/** Error messages busboy gives for a body that is not well-formed multipart. */
const MALFORMED_MULTIPART =
  /Unexpected end of (form|multipart data)|Malformed|Part terminated early|Multipart: Boundary not found|Unexpected token/i;

export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (isStorageUnavailable(err)) return storageUnavailable();
  const fastifyError = err as Partial<FastifyError> & { validationContext?: string };
  if (fastifyError.validation) {
    return apiError("VALIDATION_ERROR", fastifyError.message ?? "invalid request");
  }
  const known = fastifyError.code ? FRAMEWORK_ERRORS[fastifyError.code] : undefined;
  if (known) return apiError(known, fastifyError.message ?? known);
  if (fastifyError.code === "FST_MP_PREMATURE_CLOSE" || fastifyError.code === "ERR_STREAM_PREMATURE_CLOSE") {
    return apiError("REQUEST_ABORTED", "the request body ended before it was complete");
  }
  if (err instanceof Error && MALFORMED_MULTIPART.test(err.message)) {
    return apiError("MALFORMED_MULTIPART", "the multipart body is malformed");
  }
  // Other client errors Fastify raises carry their 4xx status and a message meant for the client.
  const status = fastifyError.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new ApiError(status, "BAD_REQUEST", fastifyError.message ?? "bad request");
  }
  return undefined;
}

export function sendError(reply: FastifyReply, error: ApiError): FastifyReply {
  // An answer before the whole body was read (a refused or failed upload): the rest of the body is
  // read and dropped, as Node does for a body no one reads. Left unread it would block the
  // connection, and a client's next request on it would wait behind it until the idle timeout cut
  // both (`npm run faults` saw requests reset after 66 s). Closing instead would cut the client off
  // while it still sends, before it reads this answer. The body is first taken from the multipart
  // parser it is piped to: that parser stops reading once nobody reads the file it holds, and its
  // back-pressure paused the body again (`npm run faults`, two nodes down: the cuts went on).
  const body = reply.request.raw;
  if (!body.complete) {
    body.unpipe();
    body.resume();
  }
  return reply.code(error.statusCode).headers(error.headers).send(errorBody(error.code, error.message));
}

/**
 * Whether the client went away before its answer: its socket is gone or its body was cut off. Such a
 * failure often surfaces as a network error (ECONNRESET, premature close) that would otherwise read as
 * MinIO being down.
 */
function clientGone(request: FastifyRequest): boolean {
  return request.raw.socket?.destroyed === true || request.raw.readableAborted;
}

export function registerErrorHandling(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (clientGone(request)) {
      metrics.clientDisconnects.inc({ route: routeLabel(request) });
      request.log.info({ reason: err instanceof Error ? err.message : String(err) }, "client disconnected");
      return sendError(reply, apiError("REQUEST_ABORTED", "the client went away before the answer"));
    }
    const known = toApiError(err);
    if (known) {
      if (known.code === "STORAGE_UNAVAILABLE") {
        metrics.storageUnavailable.inc();
        request.log.warn({ err }, "storage unavailable");
      } else if (known.statusCode >= 500) request.log.warn({ code: known.code, msg: known.message }, "request shed");
      else request.log.info({ code: known.code, msg: known.message }, "request refused");
      return sendError(reply, known);
    }
    request.log.error({ err }, "unhandled error");
    return sendError(reply, apiError("INTERNAL", "internal error"));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, apiError("ROUTE_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`)),
  );
}

/**
 * Errors the router raises before any route runs (bad URL encoding, a path parameter over
 * `maxParamLength`), answered in our shape too.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 400;
  const code = error.code === "FST_ERR_MAX_PARAM_LENGTH" ? "URL_TOO_LONG" : "BAD_URL";
  sendError(
    reply,
    new ApiError(status, code, code === "URL_TOO_LONG" ? "a path segment is too long" : "malformed URL"),
  );
}

/**
 * Validation failures that have a code of their own, by the field and the rule that failed: the
 * limit is in the schema (so the OpenAPI document states it) and the answer keeps its own code.
 */
const FIELD_ERRORS: { field: string; keyword: string; error: (params: Record<string, unknown>) => ApiError }[] = [
  {
    field: "expires_in",
    keyword: "maximum",
    error: (p) => apiError("EXPIRY_TOO_LONG", `expires_in must be at most ${p.limit} seconds`),
  },
  {
    field: "size",
    keyword: "maximum",
    error: (p) => apiError("FILE_TOO_LARGE", `size must be at most ${p.limit} bytes`),
  },
  {
    field: "size",
    keyword: "required",
    error: () => apiError("SIZE_REQUIRED", "a PUT link is bound to the exact size: send size in bytes"),
  },
  {
    field: "content_type",
    keyword: "pattern",
    error: () => apiError("UNSUPPORTED_CONTENT_TYPE", "this content type is not allowed"),
  },
  {
    field: "key",
    keyword: "pattern",
    error: () => apiError("INVALID_KEY", "the key has an empty, '.' or '..' segment, or a control character"),
  },
  {
    field: "filename",
    keyword: "pattern",
    error: () => apiError("INVALID_FILENAME", "the file name has control characters or a '..' segment"),
  },
];

interface SchemaError {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** The property that tells the variants of a request apart (presign's `method`: POST or PUT). */
const DISCRIMINATOR = "method";

/**
 * A body that may take one of several shapes (anyOf) fails in each of them; the failures that
 * matter are those of the shape its discriminator chose. None chosen: the discriminator is wrong.
 */
function relevantErrors(errors: SchemaError[]): SchemaError[] {
  const branches = new Map<string, SchemaError[]>();
  for (const e of errors) {
    const branch = /^#\/anyOf\/(\d+)\//.exec(e.schemaPath)?.[1];
    if (branch !== undefined) branches.set(branch, [...(branches.get(branch) ?? []), e]);
  }
  if (branches.size === 0) return errors;
  const aboutDiscriminator = (e: SchemaError) =>
    e.instancePath === `/${DISCRIMINATOR}` || e.params.missingProperty === DISCRIMINATOR;
  const chosen = [...branches.values()].find((branch) => !branch.some(aboutDiscriminator));
  return chosen ?? errors.filter(aboutDiscriminator);
}

/** Fastify's `schemaErrorFormatter`: our codes for the failures above, VALIDATION_ERROR otherwise. */
export function schemaErrorFormatter(all: SchemaError[], dataVar: string): Error {
  const errors = relevantErrors(all);
  for (const { field, keyword, error } of FIELD_ERRORS) {
    const hit = errors.find(
      (e) =>
        e.keyword === keyword &&
        (keyword === "required" ? e.params.missingProperty === field : e.instancePath === `/${field}`),
    );
    if (hit) return error(hit.params);
  }
  const first = errors[0];
  const where = first ? `${dataVar}${first.instancePath.replaceAll("/", ".")}` : dataVar;
  return apiError("VALIDATION_ERROR", first ? `${where} ${first.message ?? "is invalid"}` : "invalid request");
}

/** What Node's HTTP parser refuses before Fastify sees a request, as our status and code. */
function parserError(code: string | undefined): [number, string, string] {
  if (code === "HPE_HEADER_OVERFLOW") return [431, "HEADERS_TOO_LARGE", "the request line or headers are too large"];
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return [408, "REQUEST_TIMEOUT", "the request took too long to arrive"];
  return [400, "BAD_REQUEST", "malformed HTTP request"];
}

/**
 * Fastify's `clientErrorHandler`: errors of the HTTP parser (headers over 16 KiB, a 64 KiB query,
 * garbage) are answered in our shape too, then the connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const [status, code, message] = parserError(err.code);
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Response schemas for the error statuses a route can answer with. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody]));
}

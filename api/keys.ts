// Object keys are ours, never the client's: a client-supplied name only ever becomes the last,
// sanitised segment of a key we build, so names cannot collide (each upload gets its own uuid
// folder) and cannot climb out of their prefix.
import { randomUUID } from "node:crypto";
import { EXECUTIONS_PREFIX, UPLOADS_PREFIX } from "../rules/object-keys";

export { EXECUTIONS_PREFIX, UPLOADS_PREFIX };

/** Longest safe name in UTF-8 bytes: keeps whole keys far below S3's 1024-byte limit. */
export const MAX_SAFE_NAME_BYTES = 200;
/** Longest original name kept in metadata, percent-encoded (S3 allows 2 KiB of user metadata). */
export const MAX_ORIGINAL_NAME_METADATA = 1024;

// Control (Cc), format (Cf: bidi overrides, zero-width joiners...), line/paragraph separators,
// surrogates and private use: none belongs in a file name and several are used to disguise one.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}]/gu;
// Characters that break a file name somewhere (Windows, shells, header quoting) once downloaded.
const AWKWARD = /[<>:"|?*\\/]/g;

function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let out = "";
  for (const char of text) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    out += char;
  }
  return out;
}

/**
 * A file name safe to use as the last segment of an object key and as a download name: NFKC-normalised
 * (so full-width look-alikes of `.` and `/` become the real ones before they are stripped), last path
 * segment only (both `/` and `\`), no control or invisible characters, no `..`, no leading or
 * trailing dots and spaces, at most MAX_SAFE_NAME_BYTES with the extension kept. Empty when nothing
 * usable is left (the caller decides whether to refuse or fall back).
 */
export function safeName(original: string): string {
  const normalised = original.normalize("NFKC").replace(INVISIBLE, "");
  const lastSegment = normalised.split(/[/\\]/).pop() ?? "";
  const cleaned = lastSegment
    .replace(AWKWARD, "_")
    .replace(/\s+/gu, " ")
    .replace(/\.{2,}/g, ".")
    .replace(/^[\s.]+|[\s.]+$/gu, "");
  if (!cleaned) return "";
  if (Buffer.byteLength(cleaned) <= MAX_SAFE_NAME_BYTES) return cleaned;
  const dot = cleaned.lastIndexOf(".");
  const extension = dot > 0 && cleaned.length - dot <= 16 ? cleaned.slice(dot) : "";
  const stem = truncateUtf8(
    cleaned.slice(0, cleaned.length - extension.length),
    MAX_SAFE_NAME_BYTES - Buffer.byteLength(extension),
  );
  return `${stem.replace(/[\s.]+$/u, "")}${extension}`;
}

// What makes a client's name refused, as regular expression sources: the server checks them and the
// OpenAPI document states them (CLIENT_NAME_PATTERN), from this one place. Look-alikes that NFKC
// turns into "." or a separator (full-width, small, leaders) count as the real ones.
const DOT = "[.\\u2024\\uFE52\\uFF0E]";
const SEP = "[/\\\\\\uFF0F\\uFF3C]";
const DOT_DOT_SEGMENT = `^(?:[\\s\\S]*${SEP})?(?:${DOT}{2}|\\u2025)(?:${SEP}|$)`;
const CONTROL_RANGE = "\\u0000-\\u001f\\u007f-\\u009f";
const CONTROL = `[${CONTROL_RANGE}]`;
/** A name that is not refused: no control character, no `..` segment, not empty. */
export const CLIENT_NAME_PATTERN = `^(?!${DOT_DOT_SEGMENT.slice(1)})[^${CONTROL_RANGE}]+$`;
/** Longest name accepted, in characters (at most 4 KiB of UTF-8). */
export const MAX_CLIENT_NAME_LENGTH = MAX_ORIGINAL_NAME_METADATA;

const dotDotSegment = new RegExp(DOT_DOT_SEGMENT, "u");
const control = new RegExp(CONTROL, "u");

/**
 * Why a name a client sent for a new object is refused, or undefined when it is acceptable. Stricter
 * than `safeName`, which would quietly repair these: control characters and `..` path segments are
 * never sent by an honest client (a browser may send a full Windows path, but never `..`), so such a
 * request is refused rather than stored under a repaired name.
 */
export function refusedNameReason(original: string): string | undefined {
  if (control.test(original)) return "contains control characters";
  if (dotDotSegment.test(original)) return "contains a '..' path segment";
  if ([...original].length > MAX_CLIENT_NAME_LENGTH) return "is too long";
  return undefined;
}

/** The name an object gets when nothing usable is left of the client's (e.g. only dots or spaces). */
export const FALLBACK_NAME = "file";

/** `uploads/<yyyy>/<mm>/<dd>/<uuid>/<safe-name>`, dated in UTC so every replica agrees. */
export function uploadKey(safe: string, now: Date = new Date(), id: string = randomUUID()): string {
  const yyyy = now.getUTCFullYear().toString().padStart(4, "0");
  const mm = (now.getUTCMonth() + 1).toString().padStart(2, "0");
  const dd = now.getUTCDate().toString().padStart(2, "0");
  return `${UPLOADS_PREFIX}${yyyy}/${mm}/${dd}/${id}/${safe}`;
}

/**
 * Execution ids come from Workflow Studio (uuids or slugs). Strict on purpose: a letter or digit first,
 * then letters, digits, `-` and `_`, at most 128 characters, so an id is always one key segment.
 */
export const EXECUTION_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$";
const EXECUTION_ID = new RegExp(EXECUTION_ID_PATTERN);

export function isExecutionId(id: string): boolean {
  return EXECUTION_ID.test(id);
}

export function executionPrefix(executionId: string): string {
  if (!isExecutionId(executionId)) throw new Error(`not an execution id: ${JSON.stringify(executionId)}`);
  return `${EXECUTIONS_PREFIX}${executionId}/`;
}

/**
 * The seed's `executions/{execution_id}/result.json`. Written last, once, with `If-None-Match: *`:
 * it is the commit of an execution's save, and its metadata names the save's attempt folder.
 */
export const RESULT_NAME = "result.json";
/** Metadata key (without the x-amz-meta- prefix) of result.json that names the committed attempt. */
export const ATTEMPT_META = "attempt";

export function resultKey(executionId: string): string {
  return `${executionPrefix(executionId)}${RESULT_NAME}`;
}

/**
 * Each save of an execution writes its output files into a folder of its own,
 * `executions/{id}/{attempt}/`, so two saves of one id never write the same key and a save that
 * does not commit is never listed: readers follow result.json's attempt.
 */
export function attemptPrefix(executionId: string, attempt: string): string {
  return `${executionPrefix(executionId)}${attempt}/`;
}

export function artifactKey(executionId: string, attempt: string, safe: string): string {
  return `${attemptPrefix(executionId, attempt)}${safe}`;
}

/**
 * An object key a client may name for a download: no empty, `.` or `..` segment (never one the API
 * wrote; MinIO would clean it into another key) and no control character. The objects route's
 * schema holds it, so the OpenAPI document states it too.
 */
export const OBJECT_KEY_PATTERN = `^(?![\\s\\S]*(?:^|/)\\.{0,2}(?:/|$))[^${CONTROL_RANGE}]+$`;
const objectKey = new RegExp(OBJECT_KEY_PATTERN, "u");

/** Why a key a client names for a download is refused (400), or undefined. */
export function refusedKeyReason(key: string): string | undefined {
  return objectKey.test(key) ? undefined : "has an empty, '.' or '..' segment, or a control character";
}

/**
 * The client's name as it was sent (minus invisible characters), percent-encoded because S3
 * metadata travels in HTTP headers, which are ASCII only. Read back with `decodeOriginalName`.
 */
export function originalNameMetadata(original: string): string {
  let encoded = "";
  // Whole characters only: a cut inside a multi-byte character would not decode.
  for (const char of original.normalize("NFC").replace(INVISIBLE, "")) {
    const next = encodeURIComponent(char);
    if (encoded.length + next.length > MAX_ORIGINAL_NAME_METADATA) break;
    encoded += next;
  }
  return encoded;
}

export function decodeOriginalName(metadata: string | undefined): string | undefined {
  if (!metadata) return undefined;
  try {
    return decodeURIComponent(metadata);
  } catch {
    return undefined;
  }
}

/** Metadata key (without the x-amz-meta- prefix) that holds the original name. */
export const ORIGINAL_NAME_META = "original-name";

// What the two multipart routes (uploads and execution artifacts) share: checking a file part,
// streaming it into a staged object under a key we chose, and committing a request's files only once
// the whole request has been read, so a refused request never leaves objects behind.
import type { MultipartFile } from "@fastify/multipart";
import type { FastifyBaseLogger } from "fastify";
import { essence, isAllowedContentType } from "./content-types";
import { apiError } from "./errors";
import type { Expiry } from "./expiry";
import { FALLBACK_NAME, ORIGINAL_NAME_META, originalNameMetadata, refusedNameReason, safeName } from "./keys";
import type { Storage } from "./storage";
import { partSizeFor, type StagedObject, stageObject } from "./stream-upload";

export interface StoredFile {
  bucket: string;
  key: string;
  /** The name the client sent, as it was (kept in metadata; downloads use the safe name). */
  originalName: string;
  size: number;
  contentType: string;
  etag: string;
}

/**
 * The safe name for a client's file name (FALLBACK_NAME when nothing usable is left), or 400 when
 * the name is refused outright.
 */
export function clientFileName(original: string): string {
  const reason = refusedNameReason(original);
  if (reason) throw apiError("INVALID_FILENAME", `file name ${JSON.stringify(original.slice(0, 200))} ${reason}`);
  return safeName(original) || FALLBACK_NAME;
}

/** The declared content type of a part, or 415 when it is not allowed. */
export function allowedContentType(part: MultipartFile, allowed: readonly string[]): string {
  const type = essence(part.mimetype);
  if (!type || !isAllowedContentType(type, allowed)) {
    throw apiError("UNSUPPORTED_CONTENT_TYPE", `content type "${part.mimetype}" is not allowed`);
  }
  return type;
}

export interface StageTarget {
  bucket: string;
  key: string;
  contentType: string;
  maxBytes: number;
  /** See StageOptions.holdSmall: only for a request that holds one file. */
  holdSmall?: boolean;
}

/**
 * The files a request has received and staged (not visible yet). `atomically` aborts them all when
 * the request fails; `commitAll` makes them visible. The API's MinIO identity cannot delete, and
 * does not need to: an uncommitted file is an open multipart upload, which it may abort.
 */
export class StagedFiles {
  private staged: { file: Omit<StoredFile, "etag">; object: StagedObject }[] = [];

  constructor(
    private readonly storage: Storage,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Streams a file part into a staged object at `target.key`; refuses it when empty or over the limit. */
  async stage(part: MultipartFile, target: StageTarget): Promise<Omit<StoredFile, "etag">> {
    const originalName = part.filename;
    const object = await stageObject(this.storage.data, target.bucket, target.key, part.file, {
      headers: {
        "Content-Type": target.contentType,
        [`X-Amz-Meta-${ORIGINAL_NAME_META}`]: originalNameMetadata(originalName),
      },
      partSize: partSizeFor(target.maxBytes),
      holdSmall: target.holdSmall,
      verify(bytes) {
        // busboy stops counting at the limit and marks the stream truncated instead of failing it.
        if (part.file.truncated) {
          throw apiError("FILE_TOO_LARGE", `file "${originalName}" is larger than ${target.maxBytes} bytes`);
        }
        if (bytes === 0) throw apiError("EMPTY_FILE", `file "${originalName}" is empty`);
      },
      onAbortFailure: (err, retry) => {
        this.log.warn({ err, key: target.key }, "could not abort multipart upload; retrying in the background");
        this.storage.retryLater(`abort ${target.key}`, retry);
      },
    });
    const file = {
      bucket: target.bucket,
      key: target.key,
      originalName,
      size: object.size,
      contentType: target.contentType,
    };
    this.staged.push({ file, object });
    return file;
  }

  /** Runs `work`; on failure aborts every file staged so far, then rethrows the failure. */
  async atomically<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      await this.abortAll();
      throw err;
    }
  }

  async abortAll(): Promise<void> {
    await Promise.all(this.staged.splice(0).map(({ object }) => object.abort()));
  }

  /**
   * Commits every staged file at once; fails when any commit fails (a failed commit aborts its own
   * upload). Callers commit into keys no reader follows yet, so a half-committed set stays unseen.
   */
  async commitAll(): Promise<StoredFile[]> {
    const staged = this.staged.splice(0);
    const results = await Promise.allSettled(staged.map(({ object }) => object.commit()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    return staged.map(({ file }, i) => ({ ...file, etag: (results[i] as PromiseFulfilledResult<string>).value }));
  }
}

/**
 * What a success answer says of a stored file, the same in every route: key, size, type, ETag and a
 * download link under `name` with its expiry.
 */
export async function storedFileAnswer(storage: Storage, stored: StoredFile, expiry: Expiry, name: string) {
  return {
    file_path: stored.key,
    size: stored.size,
    content_type: stored.contentType,
    etag: stored.etag,
    download_url: await storage.presignGet(stored.bucket, stored.key, expiry.seconds, name),
    expires_in: expiry.seconds,
    expires_at: expiry.expiresAt,
  };
}

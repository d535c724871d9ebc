// What the two multipart routes (uploads and execution artifacts) share: checking a file part,
// streaming it into an object under a key we chose, and undoing a request's writes when the request
// fails half-way, so a refused request never leaves objects behind.
import type { MultipartFile } from "@fastify/multipart";
import type { FastifyBaseLogger } from "fastify";
import { essence, isAllowedContentType } from "./content-types";
import { ApiError, badRequest } from "./errors";
import { ORIGINAL_NAME_META, originalNameMetadata, refusedNameReason, safeName } from "./keys";
import type { Storage } from "./storage";
import { partSizeFor, streamToObject } from "./stream-upload";

export interface StoredFile {
  bucket: string;
  key: string;
  /** The name the client sent, as it was (kept in metadata; downloads use the safe name). */
  originalName: string;
  size: number;
  contentType: string;
  etag: string;
}

/** The safe name for a client's file name, or 400 when the name is refused outright. */
export function clientFileName(original: string): string {
  const reason = refusedNameReason(original);
  if (reason) throw badRequest("INVALID_FILENAME", `file name ${JSON.stringify(original.slice(0, 200))} ${reason}`);
  return safeName(original);
}

/** The declared content type of a part, or 415 when it is not allowed. */
export function allowedContentType(part: MultipartFile, allowed: readonly string[]): string {
  const type = essence(part.mimetype);
  if (!type || !isAllowedContentType(type, allowed)) {
    throw new ApiError(415, "UNSUPPORTED_CONTENT_TYPE", `content type "${part.mimetype}" is not allowed`);
  }
  return type;
}

export interface StoreOptions {
  storage: Storage;
  bucket: string;
  key: string;
  contentType: string;
  maxBytes: number;
  log: FastifyBaseLogger;
}

/** Streams one file part into `bucket/key`; refuses (and leaves nothing) when empty or over the limit. */
export async function storeFilePart(part: MultipartFile, options: StoreOptions): Promise<StoredFile> {
  const originalName = part.filename;
  const { size, etag } = await streamToObject(options.storage.data, options.bucket, options.key, part.file, {
    headers: {
      "Content-Type": options.contentType,
      [`X-Amz-Meta-${ORIGINAL_NAME_META}`]: originalNameMetadata(originalName),
    },
    partSize: partSizeFor(options.maxBytes),
    verify(bytes) {
      // busboy stops counting at the limit and marks the stream truncated instead of failing it.
      if (part.file.truncated) {
        throw new ApiError(413, "FILE_TOO_LARGE", `file "${originalName}" is larger than ${options.maxBytes} bytes`);
      }
      if (bytes === 0) throw badRequest("EMPTY_FILE", `file "${originalName}" is empty`);
    },
    onAbortFailure: (err) => options.log.error({ err, key: options.key }, "could not abort multipart upload"),
  });
  return { bucket: options.bucket, key: options.key, originalName, size, contentType: options.contentType, etag };
}

/** The objects a request has written so far, removed again if the request fails. */
export class RequestWrites {
  private readonly written: { bucket: string; key: string }[] = [];

  constructor(
    private readonly storage: Storage,
    private readonly log: FastifyBaseLogger,
  ) {}

  add(bucket: string, key: string): void {
    this.written.push({ bucket, key });
  }

  /** Streams a file part into `bucket/key` (see storeFilePart) and records the write for rollback. */
  async storeFile(part: MultipartFile, target: Omit<StoreOptions, "storage" | "log">): Promise<StoredFile> {
    const stored = await storeFilePart(part, { ...target, storage: this.storage, log: this.log });
    this.add(target.bucket, target.key);
    return stored;
  }

  /** Runs `work`; on failure removes every object written so far, then rethrows the failure. */
  async atomically<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      await this.rollback();
      throw err;
    }
  }

  private async rollback(): Promise<void> {
    for (const { bucket, key } of this.written.splice(0)) {
      // If MinIO is what failed, this fails too; the log names the orphan for an operator.
      await this.storage.data.removeObject(bucket, key).catch((err) => {
        this.log.error({ err, bucket, key }, "could not remove object of a failed request");
      });
    }
  }
}

// Streams a request's file part into one object without holding the file in memory or on disk:
// at most one part (PART_SIZE) is buffered. A file that fits in one part is a single PUT; a larger
// one becomes a multipart upload whose parts are sent as they fill. If anything fails (client gone,
// limit reached, verification refused, MinIO error) the multipart upload is aborted, so no object
// and no pending upload is left behind. Written by hand because minio-js' putObject buffers whole
// parts of up to 500 MiB for streams of unknown size and never aborts what it started.
import type { Readable } from "node:stream";
import type * as Minio from "minio";

/** S3's smallest allowed part (except the last): the least memory per upload. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;

export function partSizeFor(maxBytes: number): number {
  return Math.max(MIN_PART_SIZE, Math.ceil(maxBytes / MAX_PARTS));
}

export interface StreamUploadOptions {
  /** Content-Type and x-amz-meta-* headers of the object. */
  headers: Record<string, string>;
  partSize: number;
  /**
   * Called once the stream has ended, before the object is committed, with the byte count: throw
   * to refuse the upload (e.g. empty or truncated); nothing is then left behind.
   */
  verify(size: number): void;
  /** Reports an abort that itself failed (the upload then expires through the bucket's lifecycle). */
  onAbortFailure?(err: unknown): void;
}

export interface StreamUploadResult {
  size: number;
  etag: string;
}

export async function streamToObject(
  client: Minio.Client,
  bucket: string,
  key: string,
  source: Readable,
  options: StreamUploadOptions,
): Promise<StreamUploadResult> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let size = 0;
  let uploadId: string | undefined;
  const parts: { part: number; etag: string }[] = [];

  const sendPart = async (payload: Buffer) => {
    uploadId ??= await client.initiateNewMultipartUpload(bucket, key, options.headers);
    const partNumber = parts.length + 1;
    const { etag } = await client.uploadPart(
      { bucketName: bucket, objectName: key, uploadID: uploadId, partNumber, headers: {} },
      payload,
    );
    parts.push({ part: partNumber, etag });
  };

  try {
    // Awaiting inside the loop is the back-pressure: the request is not read while a part is sent.
    for await (const chunk of source) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      pending.push(buffer);
      pendingBytes += buffer.length;
      size += buffer.length;
      while (pendingBytes >= options.partSize) {
        const joined = Buffer.concat(pending, pendingBytes);
        const rest = joined.subarray(options.partSize);
        pending = rest.length > 0 ? [rest] : [];
        pendingBytes = rest.length;
        await sendPart(joined.subarray(0, options.partSize));
      }
    }
    options.verify(size);
    if (uploadId === undefined) {
      const last = Buffer.concat(pending, pendingBytes);
      const result = await client.putObject(bucket, key, last, last.length, options.headers);
      return { size, etag: result.etag };
    }
    if (pendingBytes > 0) await sendPart(Buffer.concat(pending, pendingBytes));
    pending = [];
    const result = await client.completeMultipartUpload(bucket, key, uploadId, parts);
    return { size, etag: result.etag };
  } catch (err) {
    if (uploadId !== undefined) {
      await client.abortMultipartUpload(bucket, key, uploadId).catch((abortErr) => options.onAbortFailure?.(abortErr));
    }
    throw err;
  }
}

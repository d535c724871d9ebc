// Streams a request's file part into one object without holding the file in memory or on disk.
// The first HEAD_BYTES of a file are kept as they arrive: a small file never takes a part buffer.
// A larger one takes a part buffer from the process's budget (part-buffers.ts), waiting its turn
// without reading its request when none is free; it fills the buffer, sends it, and fills it again,
// or, with more buffers when they are free and nobody waits, fills one while up to PARTS_IN_FLIGHT
// others are sent.
// The object is *staged*: nothing is visible until `commit`, and `abort` (or any failure while
// receiving) leaves no object and no pending multipart upload behind. That is how a request holding
// several parts stays all-or-nothing under a MinIO identity that may not delete: a write is undone by
// aborting its multipart upload, never by removing an object. Written by hand because minio-js'
// putObject buffers whole parts of up to 500 MiB for streams of unknown size and never aborts what
// it started.
import type { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import type * as Minio from "minio";
import { S3_MAX_PARTS, S3_MIN_PART_BYTES } from "../rules/api-settings";
import { type PartBufferPool, partBufferPool } from "./part-buffers";
import { statAfterFailure } from "./storage";

/**
 * Every part carries its CRC32, which MinIO checks (a mismatch is refused with
 * XAmzContentChecksumMismatch): the integrity check of parts sent as UNSIGNED-PAYLOAD (storage.ts
 * `dataClient`), at a fraction of SHA-256's cost.
 */
const CHECKSUM_HEADER = "x-amz-checksum-crc32";

/** S3's checksum header value: the big-endian CRC32 in base64. */
export function crc32Checksum(payload: Buffer): string {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(crc32(payload));
  return value.toString("base64");
}

/** S3's smallest allowed part (except the last): the least memory per upload. */
export const MIN_PART_SIZE = S3_MIN_PART_BYTES;

/** The part size a streamed upload stages with: the smallest that fits `maxBytes` in S3's part count. */
export function partSizeFor(maxBytes: number): number {
  return Math.max(MIN_PART_SIZE, Math.ceil(maxBytes / S3_MAX_PARTS));
}

/** What a file may hold before it needs a part buffer: most uploads are small, and never wait. */
export const HEAD_BYTES = 256 * 1024;

/**
 * The most memory one upload that is receiving holds besides part buffers: up to 4 MiB for its
 * connection, parser, streams and the MinIO request (measured: 2.5-3.5 MiB, mostly request chunks
 * awaiting garbage collection), and its head.
 */
const UPLOAD_OVERHEAD_BYTES = 4 * 1024 * 1024 + HEAD_BYTES;

/**
 * The most memory a process's uploads hold: the part buffer budget, the overhead of the uploads
 * that hold a buffer, and the heads of the rest (which wait, reading nothing). test/api/server.test.ts
 * holds the process to it.
 */
export function processUploadBytes(cap: number, partSize: number): number {
  const buffers = partBufferPool(partSize).budget;
  return buffers * partSize + Math.min(cap, buffers) * UPLOAD_OVERHEAD_BYTES + cap * HEAD_BYTES;
}

export interface StageOptions {
  /** Content-Type and x-amz-meta-* headers of the object. */
  headers: Record<string, string>;
  partSize: number;
  /**
   * Called once the stream has ended, before anything is committed, with the byte count: throw
   * to refuse the upload (e.g. empty or truncated); nothing is then left behind.
   */
  verify(size: number): void;
  /**
   * Keep a file smaller than one part in memory until `commit`, then send it in one PUT (one
   * request instead of three). Only for requests holding one file: every staged file would keep its
   * buffer until the request ends. Default false: always a multipart upload.
   */
  holdSmall?: boolean;
  /**
   * Reports an abort that itself failed (MinIO unreachable), with the abort to try again later;
   * MinIO would otherwise keep the upload's parts until its own cleanup, after 24 h.
   */
  onAbortFailure?(err: unknown, retry: () => Promise<void>): void;
}

/** A received file not visible yet: `commit` makes it the object, `abort` drops it. */
export interface StagedObject {
  key: string;
  size: number;
  /** Completes the upload; answers the object's ETag. Aborts the upload when it fails. */
  commit(): Promise<string>;
  abort(): Promise<void>;
}

/** How long a failed request's answer waits for its abort (see MultipartSink.abort). */
const ABORT_ANSWER_WAIT_MS = 2000;

/**
 * Parts one upload sends at once, when part buffers are free and no other upload waits for one.
 * MinIO takes a part as a whole request and answers only when it is stored: one part at a time left
 * a 100 MiB upload at 0.58 of a direct PUT (BENCHMARKS.md), with the API's own core idle a third of
 * the time.
 */
export const PARTS_IN_FLIGHT = 3;

/** One multipart upload, started on its first part; parts may be sent several at once. */
class MultipartSink {
  private upload: Promise<string> | undefined;
  private partCount = 0;
  private readonly parts: { part: number; etag: string }[] = [];

  constructor(
    private readonly client: Minio.Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly headers: Record<string, string>,
  ) {}

  get started(): boolean {
    return this.upload !== undefined;
  }

  /** Sends the next part: its number is taken now, so parts sent at once keep the order of the calls. */
  async send(payload: Buffer): Promise<void> {
    const partNumber = ++this.partCount;
    this.upload ??= this.client.initiateNewMultipartUpload(this.bucket, this.key, this.headers);
    const { etag } = await this.client.uploadPart(
      {
        bucketName: this.bucket,
        objectName: this.key,
        uploadID: await this.upload,
        partNumber,
        headers: { [CHECKSUM_HEADER]: crc32Checksum(payload) },
      },
      payload,
    );
    this.parts.push({ part: partNumber, etag });
  }

  async complete(): Promise<string> {
    if (this.upload === undefined) throw new Error("no multipart upload to complete");
    const parts = [...this.parts].sort((a, b) => a.part - b.part);
    const { etag } = await this.client.completeMultipartUpload(this.bucket, this.key, await this.upload, parts);
    return etag;
  }

  async abort(onFailure?: (err: unknown, retry: () => Promise<void>) => void): Promise<void> {
    const upload = this.upload;
    this.upload = undefined;
    // Not started, or its start failed: there is nothing to abort.
    const uploadId = await upload?.catch(() => undefined);
    if (uploadId === undefined) return;
    const attempt = () => this.client.abortMultipartUpload(this.bucket, this.key, uploadId);
    const aborted = attempt().catch((err) => onFailure?.(err, attempt));
    // The answer waits for the abort only so long: MinIO in trouble can hold it up to the idle limit,
    // and the client's answer must come before its connection idles out. A slow abort goes on, and
    // is retried later if it fails; the parts it drops were never visible.
    await Promise.race([aborted, new Promise((resolve) => setTimeout(resolve, ABORT_ANSWER_WAIT_MS).unref())]);
  }
}

/**
 * Reads `source` to its end, handing each full part to `send`. The first HEAD_BYTES are kept as they
 * arrive; past them the upload takes a part buffer from `pool` (waiting its turn, reading nothing
 * meanwhile) and copies them in. A full buffer is sent while the next one fills: a buffer of its own
 * that was sent already, or a new one from the pool while fewer than PARTS_IN_FLIGHT are in flight,
 * none is free and nobody waits. With none, awaiting a send is the back-pressure: the request is not
 * read meanwhile. A sent buffer goes back to the pool at once when another upload waits for one (the
 * upload keeps the one it fills). A failed send stops the reading at the next chunk. Answers the byte
 * count and the rest (less than one part), which stays valid until `release` gives the buffers back.
 */
async function readParts(
  source: Readable,
  pool: PartBufferPool,
  send: (part: Buffer) => Promise<void>,
): Promise<{ size: number; rest: Buffer; release(): void }> {
  const head: Buffer[] = [];
  const held: Buffer[] = [];
  /** Buffers of ours whose part was sent: refilled before any new one is taken. */
  const sent: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const release = () => {
    for (const buffer of held.splice(0)) pool.give(buffer);
  };
  const submit = (buffer: Buffer) => {
    const sending: Promise<void> = send(buffer).then(
      () => {
        inFlight.delete(sending);
        if (pool.contended && held.length > 1) {
          held.splice(held.indexOf(buffer), 1);
          pool.give(buffer);
        } else sent.push(buffer);
      },
      (error: unknown) => {
        inFlight.delete(sending);
        failure ??= { error };
      },
    );
    inFlight.add(sending);
  };
  const take = async (): Promise<Buffer> => {
    for (;;) {
      if (failure) throw failure.error;
      const refill = sent.pop();
      if (refill) return refill;
      const fresh = inFlight.size < PARTS_IN_FLIGHT ? pool.tryTake() : undefined;
      if (fresh) {
        held.push(fresh);
        return fresh;
      }
      if (inFlight.size === 0) {
        const waited = await pool.take();
        held.push(waited);
        return waited;
      }
      await Promise.race(inFlight);
    }
  };
  let current: Buffer | undefined;
  let filled = 0;
  let size = 0;
  try {
    for await (const data of source) {
      if (failure) throw failure.error;
      const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array);
      size += chunk.length;
      if (!current) {
        if (size <= HEAD_BYTES) {
          head.push(chunk);
          continue;
        }
        current = await take();
        for (const kept of head.splice(0)) filled += kept.copy(current, filled);
      }
      let offset = 0;
      while (offset < chunk.length) {
        const copied = chunk.copy(current, filled, offset);
        filled += copied;
        offset += copied;
        if (filled < current.length) continue;
        filled = 0;
        submit(current);
        current = await take();
      }
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    const rest = current ? current.subarray(0, filled) : Buffer.concat(head);
    return { size, rest, release };
  } catch (err) {
    // Whatever ended the reading, no send may still be writing from a part when we answer.
    await Promise.all(inFlight);
    release();
    throw err;
  }
}

/**
 * After a commit failed: whether it happened anyway. A commit's answer can be lost while MinIO did
 * it (a node died between the two; minio-js then retries into an error). The key belongs to this
 * request alone (a fresh id in it), so an object there of this size is this commit: answers its
 * ETag; otherwise throws `err`. Found by `npm run faults`: refused uploads that were stored.
 */
async function committedAnyway(client: Minio.Client, bucket: string, key: string, size: number, err: unknown) {
  const stat = await statAfterFailure(client, bucket, key);
  if (stat && stat.size === size) return stat.etag;
  throw err;
}

/** Streams `source` into a staged object at `bucket/key` (see StagedObject). */
export async function stageObject(
  client: Minio.Client,
  bucket: string,
  key: string,
  source: Readable,
  options: StageOptions,
): Promise<StagedObject> {
  const sink = new MultipartSink(client, bucket, key, options.headers);
  const abort = () => sink.abort(options.onAbortFailure);
  let received: Awaited<ReturnType<typeof readParts>> | undefined;
  try {
    received = await readParts(source, partBufferPool(options.partSize), (full) => sink.send(full));
    const { size, rest } = received;
    options.verify(size);
    if (!sink.started && options.holdSmall) {
      // A copy: `rest` may lie in a part buffer, which goes back to the pool below.
      const small = Buffer.from(rest);
      return {
        key,
        size,
        commit: () =>
          client.putObject(bucket, key, small, small.length, options.headers).then(
            ({ etag }) => etag,
            (err: unknown) => committedAnyway(client, bucket, key, size, err),
          ),
        abort: async () => {},
      };
    }
    if (rest.length > 0 || !sink.started) await sink.send(rest);
    return {
      key,
      size,
      commit: () =>
        sink.complete().catch(async (err: unknown) => {
          const etag = await committedAnyway(client, bucket, key, size, err).catch(() => undefined);
          if (etag !== undefined) return etag;
          await abort();
          throw err;
        }),
      abort,
    };
  } catch (err) {
    await abort();
    throw err;
  } finally {
    received?.release();
  }
}

/** Stages and commits at once: for a request that writes one object and reads nothing after it. */
export async function streamToObject(
  client: Minio.Client,
  bucket: string,
  key: string,
  source: Readable,
  options: StageOptions,
): Promise<{ size: number; etag: string }> {
  const staged = await stageObject(client, bucket, key, source, { holdSmall: true, ...options });
  return { size: staged.size, etag: await staged.commit() };
}

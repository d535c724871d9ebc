// The two minio clients. Data calls go to the in-cluster endpoint; presigned URLs are signed for
// the public endpoint, because SigV4 signs the Host header and a URL signed for minio.ns.svc is
// refused when a browser sends it to minio.example.com. Both clients know the region, so presigning
// is pure computation: the client never asks MinIO for a bucket's location.
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import aws4 from "aws4";
import * as Minio from "minio";
import { minioClientOptions } from "../rules/minio-client";
import { retryWhile } from "../rules/retry";
import type { Config, MinioSettings } from "./config";
import { contentDisposition } from "./content-disposition";
import { isStorageUnavailable } from "./errors";

export interface Storage {
  /** Client for data calls (in-cluster endpoint). */
  data: Minio.Client;
  /** Client used only to sign URLs (public endpoint); it never sends a request. */
  presigner: Minio.Client;
  buckets: Config["buckets"];
  /** A GET link that downloads under `filename` (Content-Disposition attachment). */
  presignGet(bucket: string, key: string, seconds: number, filename: string): Promise<string>;
  /**
   * A PUT link bound to one content type and one exact length: both headers are in the signed set,
   * so MinIO refuses (403) a body of another size or type. Answers the URL and the headers to send.
   */
  presignPut(options: PutLinkOptions): { url: string; headers: Record<string, string> };
  /** A PUT link for one part of a multipart upload, bound to the part's exact length the same way. */
  presignPart(options: PartLinkOptions): { url: string; headers: Record<string, string> };
  presignPost(options: PostPolicyOptions): Promise<{ url: string; fields: Record<string, string> }>;
  /** HEAD on the data endpoint: the object's stat, or undefined when there is no such object. */
  stat(bucket: string, key: string): Promise<Minio.BucketItemStat | undefined>;
  /**
   * Runs `work` again in the background until it succeeds, with growing pauses (1 s doubling to
   * 30 s) for up to RETRY_FOR_MS: for cleanups MinIO refused while it was unreachable, such as
   * aborting a failed request's multipart upload. Pending retries end with `close`.
   */
  retryLater(what: string, work: () => Promise<void>): void;
  /** Cleanups waiting to be retried. */
  readonly pendingRetries: number;
  /** Closes kept-alive sockets and drops pending retries (graceful shutdown). */
  close(): void;
}

export interface PutLinkOptions {
  bucket: string;
  key: string;
  contentType: string;
  /** The exact body length. */
  size: number;
  seconds: number;
  /** User metadata (names without x-amz-meta-), signed too: the client sends it as given. */
  metadata: Record<string, string>;
}

export interface PartLinkOptions {
  bucket: string;
  key: string;
  uploadId: string;
  partNumber: number;
  /** The part's exact length. */
  size: number;
  seconds: number;
}

/** Whether `err` is an S3 error answer of MinIO with one of `codes` (minio-js puts it in `code`). */
export function isS3Error(err: unknown, ...codes: string[]): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && codes.includes(code);
}

export interface PostPolicyOptions {
  bucket: string;
  key: string;
  contentType: string;
  maxBytes: number;
  seconds: number;
  metadata: Record<string, string>;
}

function client(endpoint: URL, settings: MinioSettings, agent?: HttpAgent): Minio.Client {
  return new Minio.Client({
    ...minioClientOptions(endpoint, settings, settings.region),
    ...(agent ? { transportAgent: agent } : {}),
    // A 5xx from MinIO is answered 503 with Retry-After at once, and the client retries: minio-js'
    // own retry doubled how long a request could wait on a MinIO in trouble (`npm run faults`, two
    // nodes down: a chain of slow 503s outlasted the client's connection).
    retryOptions: { disableRetry: true },
  });
}

/**
 * The client for data calls. Payload hashing only where it buys something: minio-js signs a body's
 * SHA-256 over plain HTTP (over TLS it sends UNSIGNED-PAYLOAD), and MinIO hashes it again to check,
 * which cost more CPU than anything else per uploaded byte, twice. Requests stay signed, but payloads
 * go as UNSIGNED-PAYLOAD on either scheme; what the hash guarded against, bytes changed between the
 * API and MinIO, each part's CRC32 (stream-upload.ts) and each single PUT's Content-MD5 (minio-js
 * adds it when it does not hash) still catch: MinIO refuses a body that does not match. Against an
 * attacker on that path, use TLS to MinIO (an https endpoint), as the README says.
 */
export function dataClient(endpoint: URL, settings: MinioSettings, agent?: HttpAgent): Minio.Client {
  const data = client(endpoint, settings, agent);
  data.enableSHA256 = false;
  return data;
}

/**
 * A keep-alive agent whose requests give up after `idleMs` without a byte either way, failing with
 * ETIMEDOUT (answered 503). MinIO below write quorum holds requests unanswered for minutes, while a
 * client's connection to us is cut after SOCKET_IDLE_TIMEOUT_MS: without this, the client got that
 * cut instead of an answer (`npm run faults`, two nodes down: requests cut after 66 s).
 */
export function storageAgent(protocol: string, idleMs: number): HttpAgent {
  const options = { keepAlive: true, maxSockets: 64, timeout: idleMs };
  const agent = protocol === "https:" ? new HttpsAgent(options) : new HttpAgent(options);
  const createConnection = agent.createConnection.bind(agent);
  // The agent sets the timeout on every socket, in use or idle; only an idle one does it close itself.
  agent.createConnection = (connectOptions, callback) => {
    // Node's own agents make the socket at once (net and tls `connect`).
    const socket = createConnection(connectOptions, callback);
    socket?.on("timeout", () => {
      const err = Object.assign(new Error(`MinIO sent nothing for ${idleMs} ms`), { code: "ETIMEDOUT" });
      socket.destroy(err);
    });
    return socket;
  };
  return agent;
}

/** How long the API keeps asking, while MinIO is unreachable, what a failed commit left. */
const VERIFY_WINDOW_MS = 15_000;

/**
 * What a write whose answer was lost left at `key`: its stat, or undefined when nothing is there or
 * MinIO stays unreachable for VERIFY_WINDOW_MS. Asked again while MinIO is unreachable: a whole
 * MinIO stopping right after a write (`npm run faults`) took the write and the answer with it, and
 * a single check then failed too, so a save that had landed was answered 503.
 */
export async function statAfterFailure(
  client: Minio.Client,
  bucket: string,
  key: string,
): Promise<Minio.BucketItemStat | undefined> {
  const stat = () => client.statObject(bucket, key);
  return retryWhile(stat, { passes: isStorageUnavailable, forMs: VERIFY_WINDOW_MS, everyMs: 1000 }).catch(
    () => undefined,
  );
}

/** How long a background cleanup is retried before it is left to MinIO's own (24 h) expiry. */
export const RETRY_FOR_MS = 15 * 60_000;

export function createStorage(config: Config, log: { warn(obj: object, msg: string): void }): Storage {
  const { minio } = config;
  // Our own agent (not the global one), so shutdown can close its sockets; keep-alive saves a TCP
  // handshake per part. A socket MinIO dropped while idle fails once with ECONNRESET (answered 503).
  const agent = storageAgent(minio.endpoint.protocol, minio.idleTimeoutMs);
  const data = dataClient(minio.endpoint, minio, agent);
  const presigner = client(minio.publicEndpoint, minio);
  const retries = new Set<NodeJS.Timeout>();
  const retryLater = (what: string, work: () => Promise<void>, delayMs = 1000, since = Date.now()) => {
    const timer = setTimeout(() => {
      retries.delete(timer);
      work().catch((err: unknown) => {
        if (Date.now() - since + delayMs > RETRY_FOR_MS) log.warn({ err, what }, "gave up retrying a cleanup");
        else retryLater(what, work, Math.min(delayMs * 2, 30_000), since);
      });
    }, delayMs);
    timer.unref();
    retries.add(timer);
  };
  /**
   * A query-signed PUT link for the public endpoint. minio-js signs only `host` in a presigned URL;
   * aws4 signs every header it is given, so MinIO refuses (403) a request whose signed headers
   * (length, type, metadata) differ from these.
   */
  const signedPutLink = (
    bucket: string,
    key: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    seconds: number,
  ) => {
    const path = `/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
    const search = new URLSearchParams({ ...query, "X-Amz-Expires": String(seconds) });
    const signed = aws4.sign(
      {
        host: minio.publicEndpoint.host,
        path: `${path}?${search}`,
        method: "PUT",
        service: "s3",
        region: minio.region,
        signQuery: true,
        headers: { ...headers },
      },
      { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey },
    );
    return { url: `${minio.publicEndpoint.protocol}//${minio.publicEndpoint.host}${signed.path}`, headers };
  };
  return {
    data,
    presigner,
    buckets: config.buckets,
    presignGet: (bucket, key, seconds, filename) =>
      presigner.presignedGetObject(bucket, key, seconds, {
        "response-content-disposition": contentDisposition(filename),
      }),
    presignPut(options) {
      const headers: Record<string, string> = {
        "Content-Type": options.contentType,
        "Content-Length": String(options.size),
      };
      for (const [name, value] of Object.entries(options.metadata)) headers[`x-amz-meta-${name}`] = value;
      return signedPutLink(options.bucket, options.key, {}, headers, options.seconds);
    },
    presignPart(options) {
      const query = { partNumber: String(options.partNumber), uploadId: options.uploadId };
      const headers = { "Content-Length": String(options.size) };
      return signedPutLink(options.bucket, options.key, query, headers, options.seconds);
    },
    async presignPost(options) {
      const policy = presigner.newPostPolicy();
      policy.setBucket(options.bucket);
      policy.setKey(options.key);
      policy.setContentType(options.contentType);
      policy.setContentLengthRange(1, options.maxBytes);
      policy.setUserMetaData(options.metadata);
      policy.setExpires(new Date(Date.now() + options.seconds * 1000));
      const result = await presigner.presignedPostPolicy(policy);
      return { url: result.postURL, fields: result.formData };
    },
    stat: (bucket, key) =>
      data.statObject(bucket, key).catch((err: unknown) => {
        if (isS3Error(err, "NotFound", "NoSuchKey")) return undefined;
        throw err;
      }),
    retryLater: (what, work) => retryLater(what, work),
    get pendingRetries() {
      return retries.size;
    },
    close: () => {
      for (const timer of retries) clearTimeout(timer);
      retries.clear();
      agent.destroy();
    },
  };
}

// The two minio clients. Data calls go to the in-cluster endpoint; presigned URLs are signed for
// the public endpoint, because SigV4 signs the Host header and a URL signed for minio.ns.svc is
// refused when a browser sends it to minio.example.com. Both clients know the region, so presigning
// is pure computation: the client never asks MinIO for a bucket's location.
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import * as Minio from "minio";
import type { Config, MinioSettings } from "./config";
import { contentDisposition } from "./content-disposition";

export interface Storage {
  /** Client for data calls (in-cluster endpoint). */
  data: Minio.Client;
  /** Client used only to sign URLs (public endpoint); it never sends a request. */
  presigner: Minio.Client;
  buckets: Config["buckets"];
  /** A GET link that downloads under `filename` (Content-Disposition attachment). */
  presignGet(bucket: string, key: string, seconds: number, filename: string): Promise<string>;
  presignPut(bucket: string, key: string, seconds: number): Promise<string>;
  presignPost(options: PostPolicyOptions): Promise<{ url: string; fields: Record<string, string> }>;
  /** HEAD on the data endpoint: the object's stat, or undefined when there is no such object. */
  stat(bucket: string, key: string): Promise<Minio.BucketItemStat | undefined>;
  /** Closes kept-alive sockets (graceful shutdown). */
  close(): void;
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
  const useSSL = endpoint.protocol === "https:";
  return new Minio.Client({
    endPoint: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: settings.accessKey,
    secretKey: settings.secretKey,
    region: settings.region,
    ...(agent ? { transportAgent: agent } : {}),
  });
}

export function createStorage(config: Config): Storage {
  const { minio } = config;
  // Our own agent (not the global one), so shutdown can close its sockets; keep-alive saves a TCP
  // handshake per part. A socket MinIO dropped while idle fails once with ECONNRESET (answered 503).
  const agent =
    minio.endpoint.protocol === "https:"
      ? new HttpsAgent({ keepAlive: true, maxSockets: 64 })
      : new HttpAgent({ keepAlive: true, maxSockets: 64 });
  const data = client(minio.endpoint, minio, agent);
  const presigner = client(minio.publicEndpoint, minio);
  return {
    data,
    presigner,
    buckets: config.buckets,
    presignGet: (bucket, key, seconds, filename) =>
      presigner.presignedGetObject(bucket, key, seconds, {
        "response-content-disposition": contentDisposition(filename),
      }),
    presignPut: (bucket, key, seconds) => presigner.presignedPutObject(bucket, key, seconds),
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
        const code = (err as { code?: unknown }).code;
        if (code === "NotFound" || code === "NoSuchKey") return undefined;
        throw err;
      }),
    close: () => agent.destroy(),
  };
}

// Shared set-up for the API's end-to-end tests: a real MinIO of the test file's own (hot server),
// both buckets, and the API as deployed: as a MinIO user holding exactly the policy the Pulumi
// program gives it (components/api-access-policy.ts). Root credentials only set up and inspect
// (`client`). A configuration from the same environment variables the Pulumi program sets, an
// app to `inject` into, and a hand-made multipart encoder (FormData would escape the very
// characters the name tests need to send).
import type { FastifyInstance } from "fastify";
import type * as Minio from "minio";
import { type AppOptions, buildApp } from "../../api/app";
import { type Config, loadConfig } from "../../api/config";
import { dataClient } from "../../api/storage";
import { apiAccessPolicy } from "../../components/api-access-policy";
import { applyScopedUser } from "../../components/providers/scoped-user";
import { API_KEY_SCOPES, type ApiKeyScope } from "../../rules/api-keys";
import { type FormPart, multipartBody } from "../../scripts/harness/multipart-body.mts";
import type { MinioServerInfo } from "../../scripts/local-minio.mts";
import { startTestMinio, type TestMinio } from "../helpers/minio";
import { waitFor as pollUntil } from "../helpers/wait";

export const API_KEY = "test-key-0123456789abcdef";
export const OTHER_KEY = "rotated-key-fedcba9876543210";
export const auth = { authorization: `Bearer ${API_KEY}` };

/** API_KEYS text: each key named after its position, with every scope unless told otherwise. */
export function apiKeysJson(keys: string[], scopes: readonly ApiKeyScope[] = API_KEY_SCOPES): string {
  return JSON.stringify(keys.map((key, i) => ({ name: `client-${i + 1}`, key, scopes })));
}

/** The API's MinIO identity in tests: the name ApiAccess gives it, the policy it attaches. */
export const API_USER = { accessKey: "upload-api", secretKey: "upload-api-secret-0123456789" };

/**
 * Creates an API user on a server, as the program's ApiAccess does: the canned policy of
 * `apiAccessPolicy` for the two buckets, attached as the user's only policy. Answers its credentials.
 */
export async function createApiUser(
  server: MinioServerInfo,
  buckets: Config["buckets"],
  accessKey = API_USER.accessKey,
): Promise<{ accessKey: string; secretKey: string }> {
  const root = { endpoint: server.endpoint, accessKey: server.accessKey, secretKey: server.secretKey };
  const policy = apiAccessPolicy({ uploadsBucket: buckets.uploads, artifactsBucket: buckets.artifacts });
  await applyScopedUser(root, { accessKey, secretKey: API_USER.secretKey, policyName: accessKey, policy });
  return { accessKey, secretKey: API_USER.secretKey };
}

/**
 * The environment contract for a MinIO server, as the API's user (createApiUser). Presigned URLs are
 * signed for `localhost` while data calls use `127.0.0.1`: the same server under two host names,
 * standing in for the public and the in-cluster endpoint, so every download test also proves which
 * host the links were signed for.
 */
export function envFor(server: MinioServerInfo, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    MINIO_ENDPOINT: server.endpoint,
    MINIO_PUBLIC_ENDPOINT: `http://localhost:${server.port}`,
    MINIO_ACCESS_KEY: API_USER.accessKey,
    MINIO_SECRET_KEY: API_USER.secretKey,
    API_KEYS: apiKeysJson([API_KEY, OTHER_KEY]),
    METRICS_PORT: "0",
    ...overrides,
  };
}

export interface Harness {
  minio: TestMinio;
  /** Root: to set up and inspect only, never what the API runs as. */
  client: Minio.Client;
  /**
   * The API's own least-privilege identity (API_USER) in the API's own data client, for tests of the
   * storage code itself.
   */
  apiClient: Minio.Client;
  config: Config;
  app: FastifyInstance;
  /** Another app on the same MinIO, e.g. with other limits; closed by `close`. */
  appWith(overrides: Record<string, string>, options?: Partial<AppOptions>): Promise<FastifyInstance>;
  close(): Promise<void>;
}

export async function startHarness(
  overrides: Record<string, string> = {},
  options: Partial<AppOptions> = {},
): Promise<Harness> {
  const minio = await startTestMinio();
  const apps: FastifyInstance[] = [];
  try {
    const client = minio.client("hot");
    const server = minio.server("hot");
    const defaults = loadConfig(envFor(server, overrides)).buckets;
    const appWith = async (more: Record<string, string>, opts: Partial<AppOptions> = {}) => {
      let config = loadConfig(envFor(server, { ...overrides, ...more }));
      if (config.buckets.uploads !== defaults.uploads || config.buckets.artifacts !== defaults.artifacts) {
        // Other buckets: as deployed, the API's policy names them, so such an app gets a user of its own.
        const user = await createApiUser(
          server,
          config.buckets,
          `api-${config.buckets.uploads}-${config.buckets.artifacts}`,
        );
        config = { ...config, minio: { ...config.minio, ...user } };
      }
      const app = await buildApp({ config, logger: false, ...options, ...opts });
      apps.push(app);
      await app.ready();
      return app;
    };
    const config = loadConfig(envFor(minio.server("hot"), overrides));
    await client.makeBucket(config.buckets.uploads);
    await client.makeBucket(config.buckets.artifacts);
    await createApiUser(minio.server("hot"), config.buckets);
    const app = await appWith({});
    return {
      minio,
      client,
      apiClient: dataClient(config.minio.endpoint, config.minio),
      config,
      app,
      appWith,
      async close() {
        for (const a of apps) await a.close();
        await minio.stop();
      },
    };
  } catch (err) {
    await minio.stop();
    throw err;
  }
}

export type Part = FormPart;

export const BOUNDARY = "----wss-test-boundary-7MA4YWxkTrZu0gW";

/** A multipart/form-data body (scripts/harness/multipart-body.mts) with a fixed boundary, as inject() takes it. */
export function multipart(parts: Part[], boundary = BOUNDARY): { payload: Buffer; headers: Record<string, string> } {
  const { body, contentType } = multipartBody(parts, boundary);
  return { payload: body, headers: { "content-type": contentType } };
}

/** POSTs `parts` as a multipart form to `url` of an app, with the test key unless `headers` say otherwise. */
export function postMultipart(
  app: Pick<FastifyInstance, "inject">,
  url: string,
  parts: Part[],
  headers: Record<string, string> = auth,
) {
  const body = multipart(parts);
  return app.inject({ method: "POST", url, headers: { ...headers, ...body.headers }, payload: body.payload });
}

export function file(data: string | Buffer, filename = "hello.txt", contentType = "text/plain"): Part {
  return { name: "file", filename, contentType, data };
}

/** Every key in a bucket under a prefix. */
export async function listKeys(client: Minio.Client, bucket: string, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of client.listObjectsV2(bucket, prefix, true) as AsyncIterable<{ name?: string }>) {
    if (item.name) keys.push(item.name);
  }
  return keys.sort();
}

/**
 * Multipart uploads MinIO still holds for one key (MinIO lists them per object name). One
 * ListMultipartUploads call: minio-js' listIncompleteUploads also lists each upload's parts, which
 * fails when the upload is aborted between the two calls, the very thing these tests wait for.
 */
export async function pendingUploads(client: Minio.Client, bucket: string, key: string): Promise<string[]> {
  const result = await client.listIncompleteUploadsQuery(bucket, key, "", "", "");
  return result.uploads.filter((upload) => upload.key === key).map((upload) => upload.uploadId);
}

/**
 * Every multipart upload MinIO still holds under a prefix, as `key uploadId`. MinIO answers a
 * listing with a prefix only for a whole object name, but lists the whole bucket for an empty one.
 */
export async function pendingUploadsUnder(client: Minio.Client, bucket: string, prefix: string): Promise<string[]> {
  const result = await client.listIncompleteUploadsQuery(bucket, "", "", "", "");
  return result.uploads.filter((u) => u.key.startsWith(prefix)).map((u) => `${u.key} ${u.uploadId}`);
}

/** The shared poller (helpers/wait.ts) with the API tests' shorter deadline and faster polling. */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  return pollUntil(what, probe, timeoutMs, 100);
}

/** A fixed clock and id, so a test knows the key an upload will get. */
export const FIXED_NOW = new Date("2026-03-04T05:06:07Z");
export function fixedId(id: string) {
  return { now: () => FIXED_NOW, newId: () => id };
}

export const MiB = 1024 * 1024;

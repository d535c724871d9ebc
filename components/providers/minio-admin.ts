import * as http from "node:http";
import * as https from "node:https";
import aws4 from "aws4";
import { MINIO_UNAVAILABLE_CODES } from "../../rules/minio-unavailable";
import { retryWhile } from "../../rules/retry";
import { tierNameProblem } from "../../rules/tiers";
import { encryptData } from "./madmin-encryption";
import type { MinioConnection } from "./minio-connection";

/**
 * A small typed client for MinIO's admin API (`/minio/admin/v3`): remote tiers and the IAM calls the
 * program needs. Requests are signed with SigV4 by `aws4` (service `s3`, the real body hash);
 * bodies that madmin encrypts are encrypted with the signing secret key (see madmin-encryption.ts).
 */

const adminPrefix = "/minio/admin/v3";
const defaultTimeoutMs = 30_000;

/** An error answered by MinIO, with its own code (e.g. `XMinioAdminTierAlreadyExists`) and message. */
export interface MinioAdminError extends Error {
  name: "MinioAdminError";
  code: string;
  minioMessage: string;
  statusCode: number;
  operation: string;
  requestId?: string;
}

/**
 * Builds a MinioAdminError. A plain Error with fields, not a subclass: Pulumi's closure serializer
 * rewrites classes into functions, and an Error subclass then loses its message (the engine shows
 * "error: undefined"). For the same reason test with {@link isMinioAdminError}, not instanceof.
 */
export function minioAdminError(
  code: string,
  minioMessage: string,
  statusCode: number,
  operation: string,
  requestId?: string,
): MinioAdminError {
  const err = new Error(`${operation}: ${code}: ${minioMessage} (HTTP ${statusCode})`) as MinioAdminError;
  err.name = "MinioAdminError";
  return Object.assign(err, { code, minioMessage, statusCode, operation, requestId });
}

export function isMinioAdminError(err: unknown, code?: string): err is MinioAdminError {
  const e = err as MinioAdminError | undefined;
  return e?.name === "MinioAdminError" && (code === undefined || e.code === code);
}

/** One admin call. `path` is relative to `/minio/admin/v3` and already URL-safe. */
export interface AdminRequest {
  method: "GET" | "PUT" | "POST" | "DELETE";
  path: string;
  query?: Record<string, string>;
  /** JSON-serialisable value, string or bytes; objects are sent as JSON. */
  body?: unknown;
  /** Encrypt the body as madmin does (add tier, edit tier credentials, add user, attach policy...). */
  encrypt?: boolean;
  /** What the call is, for error messages: never the body, which may hold secrets. */
  operation: string;
}

export interface AdminResponse {
  statusCode: number;
  body: Buffer;
}

/** Parses MinIO's error answer: JSON `{Code, Message, RequestId}` on the admin API, XML elsewhere. */
export function parseAdminError(statusCode: number, body: Buffer, operation: string): MinioAdminError {
  const text = body.toString("utf8");
  try {
    const json = JSON.parse(text) as { Code?: string; Message?: string; RequestId?: string };
    if (json && typeof json.Code === "string") {
      return minioAdminError(json.Code, json.Message ?? "", statusCode, operation, json.RequestId);
    }
  } catch {
    // not JSON: try XML below
  }
  const xml = (tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text)?.[1];
  const code = xml("Code") ?? `HTTP${statusCode}`;
  return minioAdminError(code, xml("Message") ?? text.slice(0, 200), statusCode, operation, xml("RequestId"));
}

function toBytes(body: unknown): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  return Buffer.from(JSON.stringify(body), "utf8");
}

/** How long an admin call waits for a MinIO that is still starting, or still gathering its quorum. */
const STARTING_SERVER_WAIT_MS = 90_000;

/**
 * The general request layer: every admin call, tier or IAM, goes through here. A MinIO that cannot
 * serve it yet (rules/minio-unavailable.ts: a distributed MinIO whose pods are Ready while its
 * subsystems still load, or whose peers are not all back after a restart) is asked again every
 * second, for up to STARTING_SERVER_WAIT_MS. Such an answer may follow a change MinIO half made (see
 * `ensureTier` in tier.ts): the callers' operations are written to be asked twice.
 */
export async function adminRequest(
  connection: MinioConnection,
  request: AdminRequest,
  timeoutMs = defaultTimeoutMs,
): Promise<AdminResponse> {
  return retryWhile(() => sendAdminRequest(connection, request, timeoutMs), {
    passes: (err) => isMinioAdminError(err) && MINIO_UNAVAILABLE_CODES.includes(err.code),
    forMs: STARTING_SERVER_WAIT_MS,
    everyMs: 1000,
  });
}

async function sendAdminRequest(
  connection: MinioConnection,
  request: AdminRequest,
  timeoutMs: number,
): Promise<AdminResponse> {
  const url = new URL(connection.endpoint);
  const plain = toBytes(request.body);
  const body = request.encrypt ? encryptData(connection.secretKey, plain) : plain;
  const query = new URLSearchParams(request.query ?? {}).toString();
  const signed = aws4.sign(
    {
      host: url.host,
      path: `${adminPrefix}${request.path}${query ? `?${query}` : ""}`,
      method: request.method,
      service: "s3",
      region: connection.region ?? "us-east-1",
      // aws4 adds X-Amz-Content-Sha256 (the real body hash for service s3) and Content-Length.
      headers: { "Content-Type": request.encrypt ? "application/octet-stream" : "application/json" },
      body,
    },
    { accessKeyId: connection.accessKey, secretAccessKey: connection.secretKey },
  );
  // Always send Content-Length: the handlers read exactly that many bytes
  // (io.LimitReader(r.Body, r.ContentLength)), and aws4 sets it only for a non-empty body.
  const headers = { ...(signed.headers as Record<string, string | number>), "Content-Length": body.length };
  const transport = url.protocol === "https:" ? https : http;
  return new Promise<AdminResponse>((resolve, reject) => {
    const req = transport.request(
      {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port || undefined,
        method: request.method,
        path: signed.path,
        headers,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const response = { statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks) };
          if (response.statusCode >= 200 && response.statusCode < 300) resolve(response);
          else reject(parseAdminError(response.statusCode, response.body, request.operation));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${request.operation}: no answer from MinIO in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

// ---- remote tiers ----

export type TierType = "minio" | "s3";

/** What a tier is: madmin's TierConfig without the Go field names. */
export interface TierSpec {
  /** Uppercase; STANDARD and REDUCED_REDUNDANCY are reserved. */
  name: string;
  type: TierType;
  /** The remote as seen from the hot MinIO server (not from `pulumi up`). */
  endpoint: string;
  bucket: string;
  prefix?: string;
  region?: string;
  /** S3 only: the storage class objects get on the remote. */
  storageClass?: string;
  accessKey: string;
  secretKey: string;
}

/** A tier as MinIO lists it: the secret key comes back as "REDACTED", so it is not here. */
export type TierInfo = Omit<TierSpec, "secretKey">;

interface WireTierBackend {
  Endpoint?: string;
  AccessKey?: string;
  SecretKey?: string;
  Bucket?: string;
  Prefix?: string;
  Region?: string;
  StorageClass?: string;
}
interface WireTierConfig {
  Version: string;
  Type: string;
  Name: string;
  MinIO?: WireTierBackend;
  S3?: WireTierBackend;
}

const backendField = { minio: "MinIO", s3: "S3" } as const;

function toWire(spec: TierSpec): WireTierConfig {
  const backend: WireTierBackend = {
    Endpoint: spec.endpoint,
    AccessKey: spec.accessKey,
    SecretKey: spec.secretKey,
    Bucket: spec.bucket,
    Prefix: spec.prefix ?? "",
    Region: spec.region ?? "",
  };
  if (spec.type === "s3" && spec.storageClass) backend.StorageClass = spec.storageClass;
  return { Version: "v1", Type: spec.type, Name: spec.name, [backendField[spec.type]]: backend };
}

function fromWire(config: WireTierConfig): TierInfo | undefined {
  if (config.Type !== "minio" && config.Type !== "s3") return undefined; // azure/gcs: not ours to manage
  const b = config[backendField[config.Type]] ?? {};
  const info: TierInfo = {
    name: config.Name,
    type: config.Type,
    endpoint: b.Endpoint ?? "",
    bucket: b.Bucket ?? "",
    prefix: b.Prefix ?? "",
    region: b.Region ?? "",
    accessKey: b.AccessKey ?? "",
  };
  if (b.StorageClass) info.storageClass = b.StorageClass;
  return info;
}

export { tierNameProblem };

const tierPath = (name: string) => `/tier/${encodeURIComponent(name)}`;

/** Adds a tier. MinIO probes the remote first; `force` skips only the "remote already in use" check. */
export async function addTier(conn: MinioConnection, spec: TierSpec, options: { force?: boolean } = {}): Promise<void> {
  await adminRequest(conn, {
    method: "PUT",
    path: "/tier",
    query: { force: String(options.force ?? false) },
    body: toWire(spec),
    encrypt: true,
    operation: `add tier ${spec.name}`,
  });
}

/** Every minio/s3 tier the server has (others are skipped). */
export async function listTiers(conn: MinioConnection): Promise<TierInfo[]> {
  const res = await adminRequest(conn, { method: "GET", path: "/tier", operation: "list tiers" });
  const configs = JSON.parse(res.body.toString("utf8") || "null") as WireTierConfig[] | null;
  return (configs ?? []).map(fromWire).filter((t): t is TierInfo => t !== undefined);
}

/** Checks the tier can reach its remote (put, get and delete of a probe object); throws otherwise. */
export async function verifyTier(conn: MinioConnection, name: string): Promise<void> {
  await adminRequest(conn, { method: "GET", path: tierPath(name), operation: `verify tier ${name}` });
}

/** Replaces a tier's remote credentials; MinIO checks the new ones against the remote first. */
export async function editTierCredentials(
  conn: MinioConnection,
  name: string,
  creds: { accessKey: string; secretKey: string },
): Promise<void> {
  await adminRequest(conn, {
    method: "POST",
    path: tierPath(name),
    body: { access: creds.accessKey, secret: creds.secretKey, awsrole: false },
    encrypt: true,
    operation: `edit credentials of tier ${name}`,
  });
}

/**
 * Removes a tier. Without `force`, MinIO refuses (XMinioAdminTierBackendNotEmpty) while the remote
 * still holds objects. Removing an unknown tier succeeds.
 */
export async function removeTier(
  conn: MinioConnection,
  name: string,
  options: { force?: boolean } = {},
): Promise<void> {
  await adminRequest(conn, {
    method: "DELETE",
    path: tierPath(name),
    // Only the literal "true" forces; send it only when meant.
    query: options.force ? { force: "true" } : {},
    operation: `remove tier ${name}`,
  });
}

// ---- IAM (built-in identity provider) ----

/** Creates or updates a user (its secret key travels encrypted). */
export async function addUser(conn: MinioConnection, accessKey: string, secretKey: string): Promise<void> {
  await adminRequest(conn, {
    method: "PUT",
    path: "/add-user",
    query: { accessKey },
    body: { secretKey, status: "enabled" },
    encrypt: true,
    operation: `add user ${accessKey}`,
  });
}

export async function removeUser(conn: MinioConnection, accessKey: string): Promise<void> {
  await adminRequest(conn, {
    method: "DELETE",
    path: "/remove-user",
    query: { accessKey },
    operation: `remove user ${accessKey}`,
  });
}

export interface UserInfo {
  status: string;
  policyName?: string;
  /** The groups the user belongs to (their policies apply to it too). */
  memberOf?: string[];
}

export async function userInfo(conn: MinioConnection, accessKey: string): Promise<UserInfo> {
  const res = await adminRequest(conn, {
    method: "GET",
    path: "/user-info",
    query: { accessKey },
    operation: `read user ${accessKey}`,
  });
  return JSON.parse(res.body.toString("utf8")) as UserInfo;
}

/** Creates or replaces a canned (named) policy; the policy document is not encrypted. */
export async function addCannedPolicy(conn: MinioConnection, name: string, policy: object): Promise<void> {
  await adminRequest(conn, {
    method: "PUT",
    path: "/add-canned-policy",
    query: { name },
    body: policy,
    operation: `add policy ${name}`,
  });
}

/** A canned policy's document as MinIO keeps it, or undefined when there is no policy of that name. */
export async function cannedPolicy(conn: MinioConnection, name: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await adminRequest(conn, {
      method: "GET",
      path: "/info-canned-policy",
      query: { name },
      operation: `read policy ${name}`,
    });
    return JSON.parse(res.body.toString("utf8")) as Record<string, unknown>;
  } catch (err) {
    if (isMinioAdminError(err, "XMinioAdminNoSuchPolicy")) return undefined;
    throw err;
  }
}

export async function removeCannedPolicy(conn: MinioConnection, name: string): Promise<void> {
  await adminRequest(conn, {
    method: "DELETE",
    path: "/remove-canned-policy",
    query: { name },
    operation: `remove policy ${name}`,
  });
}

/**
 * Attaches canned policies to a user. The answer is encrypted by the server with Argon2id, which
 * Node 22 cannot derive, so it is not read: `userInfo` shows the result.
 */
export async function attachPolicies(conn: MinioConnection, user: string, policies: string[]): Promise<void> {
  await adminRequest(conn, {
    method: "POST",
    path: "/idp/builtin/policy/attach",
    body: { policies, user },
    encrypt: true,
    operation: `attach ${policies.join(",")} to user ${user}`,
  });
}

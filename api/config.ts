// The service's whole configuration, read once from environment variables (the Pulumi program sets
// them; `npm run api` sets them from the local MinIO). Every problem is reported with the name of the
// variable, so a bad deployment fails at start with a message an operator can act on.
import { type ApiKey, parseApiKeys } from "../rules/api-keys";
import {
  DEFAULT_MAX_CONCURRENT_UPLOADS,
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_METRICS_PORT,
  DEFAULT_PART_BYTES,
  DEFAULT_PRESIGN_MAX_SECONDS,
  DEFAULT_PRESIGN_SECONDS,
  DEFAULT_REGION,
  DEFAULT_SESSION_SECONDS,
  MAX_CONCURRENT_UPLOADS_LIMIT,
  MAX_OBJECT_BYTES,
  MAX_PART_BYTES,
  REGION_PATTERN,
  S3_MIN_PART_BYTES,
  SIGV4_MAX_EXPIRY_SECONDS,
  STORAGE_IDLE_TIMEOUT_MS,
} from "../rules/api-settings";
import { BUCKET_NAME_RULE, isValidBucketName } from "../rules/buckets";
import { endpointUrlProblem, originProblem, redactUrlCredentials } from "../rules/network";

/** Where and as whom the service reaches MinIO. */
export interface MinioSettings {
  /** Used for every data call (in-cluster address), e.g. http://minio.ns.svc:9000. */
  endpoint: URL;
  /** Used only to sign URLs handed to clients: the Host header is part of the SigV4 signature. */
  publicEndpoint: URL;
  region: string;
  accessKey: string;
  secretKey: string;
  /**
   * How long a request to MinIO may go without a byte before it is given up (answered 503). Optional
   * MINIO_IDLE_TIMEOUT_MS, at most the default STORAGE_IDLE_TIMEOUT_MS (15 s); not part of the Pulumi
   * contract: only lowered, e.g. by tests.
   */
  idleTimeoutMs: number;
}

export interface Config {
  port: number;
  host: string;
  /** Port of the metrics listener (same host); 0 picks a free one (tests). */
  metricsPort: number;
  /** pino level; not part of the Pulumi contract (optional LOG_LEVEL, default info). */
  logLevel: LogLevel;
  minio: MinioSettings;
  buckets: { uploads: string; artifacts: string };
  apiKeys: ApiKey[];
  presign: { defaultSeconds: number; maxSeconds: number };
  limits: {
    maxUploadBytes: number;
    allowedContentTypes: string[];
    maxFilesPerRequest: number;
    /** Uploads streamed at once by this process; more are refused with 503 (load shedding). */
    maxConcurrentUploads: number;
  };
  /** Browser uploads in presigned parts (routes/upload-sessions.ts). */
  multipart: {
    /** Part size for new sessions (grown for a file that would need more than 10000 parts). */
    partBytes: number;
    /** How long a session lasts; older unfinished uploads under our prefix are aborted. */
    sessionSeconds: number;
  };
  /** Origins (scheme://host[:port]) whose pages may call the API from a browser; none by default. */
  corsOrigins: string[];
  /** Serve the small upload page at /upload-page (the local stack turns it on). */
  uploadPage: boolean;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = "ConfigError";
  }
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_ALLOWED_CONTENT_TYPES = [
  "application/json",
  "application/pdf",
  "application/zip",
  "application/gzip",
  "application/x-tar",
  "application/octet-stream",
  "text/*",
  "image/*",
];

type Env = NodeJS.ProcessEnv;

/** A set, non-blank value or undefined; surrounding whitespace is never meaningful here. */
function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function required(env: Env, name: string): string {
  const value = read(env, name);
  if (value === undefined) throw new ConfigError(name, "is required");
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = read(env, name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new ConfigError(name, `must be a whole number, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** An endpoint by the program's own rule (scheme://host[:port]; the minio client adds /bucket/key). */
function httpUrl(name: string, text: string): URL {
  const problem = endpointUrlProblem(text);
  if (problem) throw new ConfigError(name, `${problem}, got "${redactUrlCredentials(text)}"`);
  return new URL(text);
}

function list(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

// type/subtype or type/* (RFC 6838 restricted names, lower-cased).
const CONTENT_TYPE_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/;

/** Browser origins (rules/network.ts). `*` is not one: API keys are credentials, name the pages. */
function origins(env: Env, name: string): string[] {
  const text = read(env, name);
  if (text === undefined) return [];
  return list(text).map((origin) => {
    const problem = originProblem(origin);
    if (problem) throw new ConfigError(name, `"${origin}" is not an origin: ${problem}`);
    return origin;
  });
}

function flag(env: Env, name: string): boolean {
  const text = read(env, name)?.toLowerCase();
  if (text === undefined || text === "false" || text === "0") return false;
  if (text === "true" || text === "1") return true;
  throw new ConfigError(name, `must be true or false, got "${text}"`);
}

function bucket(env: Env, name: string, fallback: string): string {
  const value = read(env, name) ?? fallback;
  if (!isValidBucketName(value)) {
    throw new ConfigError(name, `is not a valid bucket name: "${value}" (${BUCKET_NAME_RULE})`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const endpoint = httpUrl("MINIO_ENDPOINT", required(env, "MINIO_ENDPOINT"));
  const publicText = read(env, "MINIO_PUBLIC_ENDPOINT");
  const publicEndpoint = publicText ? httpUrl("MINIO_PUBLIC_ENDPOINT", publicText) : endpoint;
  const region = read(env, "MINIO_REGION") ?? DEFAULT_REGION;
  if (!REGION_PATTERN.test(region)) throw new ConfigError("MINIO_REGION", `is not a region name: "${region}"`);

  // Problems never echo a key, even a bad one: this message ends up in logs.
  const { keys: apiKeys, problems } = parseApiKeys(required(env, "API_KEYS"));
  if (problems.length > 0) throw new ConfigError("API_KEYS", problems.join("; "));

  const defaultSeconds = integer(env, "PRESIGN_DEFAULT_SECONDS", DEFAULT_PRESIGN_SECONDS, 1, SIGV4_MAX_EXPIRY_SECONDS);
  const maxSeconds = integer(env, "PRESIGN_MAX_SECONDS", DEFAULT_PRESIGN_MAX_SECONDS, 1, SIGV4_MAX_EXPIRY_SECONDS);
  if (maxSeconds < defaultSeconds) {
    throw new ConfigError(
      "PRESIGN_MAX_SECONDS",
      `must be at least PRESIGN_DEFAULT_SECONDS (${defaultSeconds}), got ${maxSeconds}`,
    );
  }

  const contentTypesText = read(env, "ALLOWED_CONTENT_TYPES");
  const allowedContentTypes = contentTypesText
    ? list(contentTypesText).map((t) => t.toLowerCase())
    : DEFAULT_ALLOWED_CONTENT_TYPES;
  for (const type of allowedContentTypes) {
    if (!CONTENT_TYPE_PATTERN.test(type))
      throw new ConfigError("ALLOWED_CONTENT_TYPES", `"${type}" is not a content type like text/plain or image/*`);
  }
  if (allowedContentTypes.length === 0) throw new ConfigError("ALLOWED_CONTENT_TYPES", "must not be empty");

  const uploads = bucket(env, "UPLOADS_BUCKET", "user-uploads");
  const artifacts = bucket(env, "ARTIFACTS_BUCKET", "workflow-artifacts");
  if (uploads === artifacts) throw new ConfigError("ARTIFACTS_BUCKET", "must differ from UPLOADS_BUCKET");

  const logLevel = (read(env, "LOG_LEVEL") ?? "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }

  const port = integer(env, "PORT", 8080, 0, 65_535);
  const metricsPort = integer(env, "METRICS_PORT", DEFAULT_METRICS_PORT, 0, 65_535);
  if (metricsPort !== 0 && metricsPort === port)
    throw new ConfigError("METRICS_PORT", `must differ from PORT (${port})`);

  return {
    port,
    metricsPort,
    host: read(env, "HOST") ?? "0.0.0.0",
    logLevel: logLevel as LogLevel,
    minio: {
      endpoint,
      publicEndpoint,
      region,
      accessKey: required(env, "MINIO_ACCESS_KEY"),
      secretKey: required(env, "MINIO_SECRET_KEY"),
      idleTimeoutMs: integer(env, "MINIO_IDLE_TIMEOUT_MS", STORAGE_IDLE_TIMEOUT_MS, 100, STORAGE_IDLE_TIMEOUT_MS),
    },
    buckets: { uploads, artifacts },
    apiKeys,
    presign: { defaultSeconds, maxSeconds },
    limits: {
      maxUploadBytes: integer(env, "MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES, 1, MAX_OBJECT_BYTES),
      allowedContentTypes,
      maxFilesPerRequest: integer(env, "MAX_FILES_PER_REQUEST", 10, 1, 1000),
      maxConcurrentUploads: integer(
        env,
        "MAX_CONCURRENT_UPLOADS",
        DEFAULT_MAX_CONCURRENT_UPLOADS,
        1,
        MAX_CONCURRENT_UPLOADS_LIMIT,
      ),
    },
    multipart: {
      partBytes: integer(env, "MULTIPART_PART_BYTES", DEFAULT_PART_BYTES, S3_MIN_PART_BYTES, MAX_PART_BYTES),
      sessionSeconds: integer(env, "MULTIPART_SESSION_SECONDS", DEFAULT_SESSION_SECONDS, 60, SIGV4_MAX_EXPIRY_SECONDS),
    },
    corsOrigins: origins(env, "CORS_ALLOWED_ORIGINS"),
    uploadPage: flag(env, "UPLOAD_PAGE"),
  };
}

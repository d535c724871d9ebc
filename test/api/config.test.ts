import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_ALLOWED_CONTENT_TYPES, loadConfig } from "../../api/config";
import { API_KEY_SCOPES } from "../../rules/api-keys";

const keys = (...entries: { name: string; key: string; scopes?: string[] }[]) =>
  JSON.stringify(entries.map((e) => ({ scopes: [...API_KEY_SCOPES], ...e })));

const minimal = {
  MINIO_ENDPOINT: "http://minio.storage.svc:9000",
  MINIO_ACCESS_KEY: "access",
  MINIO_SECRET_KEY: "secret",
  API_KEYS: keys({ name: "studio", key: "0123456789abcdef" }),
};

function failure(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("loadConfig accepted the environment");
}

describe("loadConfig", () => {
  it("defaults for everything optional", () => {
    const config = loadConfig(minimal);
    expect(config.port).toBe(8080);
    expect(config.host).toBe("0.0.0.0");
    expect(config.logLevel).toBe("info");
    expect(config.minio.endpoint.href).toBe("http://minio.storage.svc:9000/");
    expect(config.minio.publicEndpoint).toBe(config.minio.endpoint);
    expect(config.minio.region).toBe("us-east-1");
    expect(config.buckets).toEqual({ uploads: "user-uploads", artifacts: "workflow-artifacts" });
    expect(config.apiKeys).toEqual([{ name: "studio", key: "0123456789abcdef", scopes: [...API_KEY_SCOPES] }]);
    expect(config.metricsPort).toBe(9464);
    expect(config.presign).toEqual({ defaultSeconds: 900, maxSeconds: 3600 });
    expect(config.limits).toEqual({
      maxUploadBytes: 104_857_600,
      allowedContentTypes: DEFAULT_ALLOWED_CONTENT_TYPES,
      maxFilesPerRequest: 10,
      maxConcurrentUploads: 16,
    });
    for (const type of [
      "application/json",
      "application/pdf",
      "application/zip",
      "application/octet-stream",
      "text/*",
      "image/*",
    ]) {
      expect(config.limits.allowedContentTypes).toContain(type);
    }
  });

  it("reads every variable of the contract", () => {
    const config = loadConfig({
      ...minimal,
      PORT: "9090",
      HOST: "127.0.0.1",
      MINIO_PUBLIC_ENDPOINT: "https://files.example.com",
      MINIO_REGION: "eu-west-1",
      UPLOADS_BUCKET: "ups",
      ARTIFACTS_BUCKET: "arts",
      API_KEYS: keys(
        { name: "studio", key: "0123456789abcdef" },
        { name: "ci", key: "fedcba9876543210", scopes: ["artifacts:write", "artifacts:write"] },
      ),
      METRICS_PORT: "9100",
      MAX_CONCURRENT_UPLOADS: "4",
      PRESIGN_DEFAULT_SECONDS: "60",
      PRESIGN_MAX_SECONDS: "604800",
      MAX_UPLOAD_BYTES: "1048576",
      ALLOWED_CONTENT_TYPES: "Image/*, application/pdf",
      MAX_FILES_PER_REQUEST: "3",
    });
    expect(config.port).toBe(9090);
    expect(config.host).toBe("127.0.0.1");
    expect(config.minio.publicEndpoint.href).toBe("https://files.example.com/");
    expect(config.minio.region).toBe("eu-west-1");
    expect(config.buckets).toEqual({ uploads: "ups", artifacts: "arts" });
    expect(config.metricsPort).toBe(9100);
    expect(config.apiKeys).toEqual([
      { name: "studio", key: "0123456789abcdef", scopes: [...API_KEY_SCOPES] },
      { name: "ci", key: "fedcba9876543210", scopes: ["artifacts:write"] },
    ]);
    expect(config.presign).toEqual({ defaultSeconds: 60, maxSeconds: 604800 });
    expect(config.limits).toEqual({
      maxUploadBytes: 1048576,
      allowedContentTypes: ["image/*", "application/pdf"],
      maxFilesPerRequest: 3,
      maxConcurrentUploads: 4,
    });
  });

  it.each([
    [{ MINIO_ENDPOINT: undefined }, "MINIO_ENDPOINT", /required/],
    [{ MINIO_ENDPOINT: "  " }, "MINIO_ENDPOINT", /required/],
    [{ MINIO_ENDPOINT: "minio:9000" }, "MINIO_ENDPOINT", /http\(s\) URL/],
    [{ MINIO_ENDPOINT: "http://minio:9000/bucket" }, "MINIO_ENDPOINT", /no path/],
    [
      { MINIO_ENDPOINT: "http://admin:hunter2@minio:9000" },
      "MINIO_ENDPOINT",
      /credentials.*"http:\/\/\*\*\*@minio:9000"/,
    ],
    [{ MINIO_PUBLIC_ENDPOINT: "ftp://files" }, "MINIO_PUBLIC_ENDPOINT", /http\(s\) URL/],
    [{ MINIO_ACCESS_KEY: undefined }, "MINIO_ACCESS_KEY", /required/],
    [{ MINIO_SECRET_KEY: "" }, "MINIO_SECRET_KEY", /required/],
    [{ MINIO_REGION: "EU West" }, "MINIO_REGION", /region/],
    [{ API_KEYS: undefined }, "API_KEYS", /required/],
    [{ API_KEYS: "0123456789abcdef" }, "API_KEYS", /JSON array/],
    [{ API_KEYS: "[]" }, "API_KEYS", /at least one/],
    [
      { API_KEYS: keys({ name: "a", key: "0123456789abcdef" }, { name: "b", key: "short" }) },
      "API_KEYS",
      /key #2 \("b"\): key is shorter than 16/,
    ],
    [{ API_KEYS: keys({ name: "a", key: "0123456789 abcdef" }) }, "API_KEYS", /no whitespace/],
    [
      { API_KEYS: keys({ name: "a", key: "0123456789abcdef", scopes: ["admin"] }) },
      "API_KEYS",
      /unknown scope\(s\) "admin"/,
    ],
    [{ API_KEYS: keys({ name: "a", key: "0123456789abcdef", scopes: [] }) }, "API_KEYS", /non-empty list/],
    [{ API_KEYS: keys({ name: "Has Space", key: "0123456789abcdef" }) }, "API_KEYS", /name must be/],
    [
      { API_KEYS: keys({ name: "a", key: "0123456789abcdef" }, { name: "b", key: "0123456789abcdef" }) },
      "API_KEYS",
      /same as an earlier key/,
    ],
    [{ METRICS_PORT: "8080" }, "METRICS_PORT", /differ from PORT/],
    [{ MAX_CONCURRENT_UPLOADS: "0" }, "MAX_CONCURRENT_UPLOADS", /between 1/],
    [{ CORS_ALLOWED_ORIGINS: "*" }, "CORS_ALLOWED_ORIGINS", /"\*" is not an origin/],
    [{ CORS_ALLOWED_ORIGINS: "https://studio.example.com/" }, "CORS_ALLOWED_ORIGINS", /no path/],
    [
      { CORS_ALLOWED_ORIGINS: "https://Studio.example.com:443" },
      "CORS_ALLOWED_ORIGINS",
      /as a browser sends it: https:\/\/studio\.example\.com/,
    ],
    [{ UPLOAD_PAGE: "yes" }, "UPLOAD_PAGE", /true or false/],
    [{ MULTIPART_PART_BYTES: "1024" }, "MULTIPART_PART_BYTES", /between 5242880/],
    [{ PORT: "http" }, "PORT", /whole number/],
    [{ LOG_LEVEL: "verbose" }, "LOG_LEVEL", /one of fatal/],
    [{ PORT: "70000" }, "PORT", /between/],
    [{ PRESIGN_DEFAULT_SECONDS: "0" }, "PRESIGN_DEFAULT_SECONDS", /between 1/],
    [{ PRESIGN_MAX_SECONDS: "604801" }, "PRESIGN_MAX_SECONDS", /604800/],
    [{ PRESIGN_DEFAULT_SECONDS: "7200" }, "PRESIGN_MAX_SECONDS", /at least PRESIGN_DEFAULT_SECONDS/],
    [{ MAX_UPLOAD_BYTES: "-1" }, "MAX_UPLOAD_BYTES", /whole number/],
    [{ MAX_UPLOAD_BYTES: "1.5" }, "MAX_UPLOAD_BYTES", /whole number/],
    [{ MAX_FILES_PER_REQUEST: "0" }, "MAX_FILES_PER_REQUEST", /between 1/],
    [{ ALLOWED_CONTENT_TYPES: "text/*,pdf" }, "ALLOWED_CONTENT_TYPES", /"pdf"/],
    [{ UPLOADS_BUCKET: "Bad_Bucket" }, "UPLOADS_BUCKET", /bucket name/],
    [{ UPLOADS_BUCKET: "a..b" }, "UPLOADS_BUCKET", /bucket name/],
    [{ UPLOADS_BUCKET: "192.168.1.1" }, "UPLOADS_BUCKET", /not an IP address/],
    [{ ARTIFACTS_BUCKET: "user-uploads" }, "ARTIFACTS_BUCKET", /differ/],
  ])("%j is refused, naming %s", (change, variable, problem) => {
    const err = failure({ ...minimal, ...change });
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
    expect(err.message).toMatch(problem);
  });

  it("never puts an API key into its message", () => {
    for (const key of ["tooShortSecret", "has whitespace in it 0123", "0123456789abcdef"]) {
      const text = keys({ name: "a", key: "0123456789abcdef" }, { name: "b", key }).replace(
        /"scopes":\[[^\]]*\]\}\]$/,
        '"scopes":["x"]}]',
      );
      const err = failure({ ...minimal, API_KEYS: text });
      expect(err.message).not.toContain(key === "0123456789abcdef" ? "0123456789" : key);
    }
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../api/error-codes";
import { ApiError, apiError, isStorageUnavailable, RETRY_AFTER_SECONDS, toApiError } from "../../api/errors";

const withCode = (message: string, code: string, extra: object = {}) =>
  Object.assign(new Error(message), { code, ...extra });

describe("error mapping", () => {
  it("MinIO unreachable or busy is a 503 with Retry-After and a fixed message", () => {
    for (const err of [
      withCode("connect ECONNREFUSED 10.0.0.7:9000", "ECONNREFUSED"),
      withCode("read ECONNRESET", "ECONNRESET"),
      withCode("getaddrinfo ENOTFOUND minio.ns.svc", "ENOTFOUND"),
      withCode("Server not initialized", "XMinioServerNotInitialized"),
      // Completing parts MinIO acknowledged but lost below write quorum (found by `npm run faults`).
      withCode("One or more of the specified parts could not be found.", "InvalidPart"),
      withCode("The specified multipart upload does not exist.", "NoSuchUpload"),
      withCode("Write quorum could not be established", "XMinioWriteQuorum"),
      new Error("Retryable HTTP status: 503"),
      // MinIO cancelling its own request while it stops (found by `npm run faults`).
      new Error("Request failed after 0 retries: Error: Retryable HTTP status: 499"),
      new Error("wrapped", { cause: withCode("x", "EHOSTUNREACH") }),
    ]) {
      expect(isStorageUnavailable(err), err.message).toBe(true);
      const mapped = toApiError(err);
      expect(mapped).toMatchObject({ statusCode: 503, code: "STORAGE_UNAVAILABLE" });
      expect(mapped?.headers["retry-after"]).toBe(String(RETRY_AFTER_SECONDS));
      expect(mapped?.message).not.toMatch(/10\.0\.0\.7|minio\.ns|ECONN/);
    }
  });

  it("other MinIO errors are not taken for an outage (they become a generic 500)", () => {
    expect(isStorageUnavailable(withCode("Access Denied.", "AccessDenied"))).toBe(false);
    expect(toApiError(withCode("Access Denied.", "AccessDenied"))).toBeUndefined();
    expect(toApiError(new TypeError("x is undefined"))).toBeUndefined();
  });

  it("multipart and framework errors keep a 4xx status under our codes", () => {
    expect(toApiError(withCode("request file too large", "FST_REQ_FILE_TOO_LARGE"))).toMatchObject({
      statusCode: 413,
      code: "FILE_TOO_LARGE",
    });
    expect(toApiError(withCode("reach files limit", "FST_FILES_LIMIT"))).toMatchObject({
      statusCode: 413,
      code: "TOO_MANY_FILES",
    });
    expect(toApiError(withCode("the request is not multipart", "FST_INVALID_MULTIPART_CONTENT_TYPE"))).toMatchObject({
      statusCode: 415,
    });
    expect(toApiError(new Error("Unexpected end of form"))).toMatchObject({
      statusCode: 400,
      code: "MALFORMED_MULTIPART",
    });
    expect(toApiError(withCode("closed", "FST_MP_PREMATURE_CLOSE"))).toMatchObject({
      statusCode: 400,
      code: "REQUEST_ABORTED",
    });
    expect(toApiError(Object.assign(new Error("body/x must be string"), { validation: [] }))).toMatchObject({
      statusCode: 400,
      code: "VALIDATION_ERROR",
    });
  });

  it("our own errors pass through unchanged", () => {
    const err = new ApiError(409, "ALREADY_SAVED", "already");
    expect(toApiError(err)).toBe(err);
  });
});

describe("the one list of error codes", () => {
  it("api/README.md lists exactly the codes of error-codes.ts, each under its status", () => {
    const readme = readFileSync(join(__dirname, "..", "..", "api", "README.md"), "utf8");
    const start = readme.indexOf("Error codes (");
    const paragraph = readme.slice(start, readme.indexOf("\n\n", start)).replace(/\s+/g, " ");
    const listed: Record<string, number> = {};
    for (const group of paragraph.slice(paragraph.indexOf(":") + 1).split(";")) {
      const status = Number(/(\d{3})/.exec(group)?.[1]);
      for (const [, code] of group.matchAll(/`([A-Z_]+)`/g)) listed[code as string] = status;
    }
    expect(listed).toEqual({ ...ERROR_CODES });
  });

  it("apiError takes the status from the list", () => {
    expect(apiError("ALREADY_SAVED", "x")).toMatchObject({ statusCode: 409, code: "ALREADY_SAVED" });
    expect(apiError("TOO_BUSY", "x", { "retry-after": "5" }).headers).toEqual({ "retry-after": "5" });
  });
});

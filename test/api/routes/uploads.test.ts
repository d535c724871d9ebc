// POST /upload and POST /v1/uploads end to end against a real MinIO: what is stored where, what the
// links do when fetched by a plain HTTP client, and every refused input leaving nothing behind.
import { createHash, randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAll } from "../../helpers/minio";
import {
  auth,
  BOUNDARY,
  file,
  fixedId,
  type Harness,
  listKeys,
  MiB,
  multipart,
  OTHER_KEY,
  type Part,
  pendingUploads,
  pendingUploadsUnder,
  postMultipart,
  startHarness,
} from "../support";

let h: Harness;
let bucket: string;

beforeAll(async () => {
  h = await startHarness();
  bucket = h.config.buckets.uploads;
});
afterAll(async () => h?.close());

const upload = (app: FastifyInstance, parts: Part[], url = "/upload", headers = auth) =>
  postMultipart(app, url, parts, headers);

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe("POST /upload (the seed's contract)", () => {
  it("stores the file under a key of ours and answers file_path, download_url, filename and more", async () => {
    const res = await upload(h.app, [file("hello, storage", "notes.txt", "text/plain")]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.file_path).toMatch(/^uploads\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\/notes\.txt$/);
    expect(body).toMatchObject({
      bucket,
      filename: "notes.txt",
      safe_name: "notes.txt",
      size: 14,
      content_type: "text/plain",
      etag: expect.stringMatching(/^[0-9a-f]{32}$/),
      expires_in: h.config.presign.defaultSeconds,
    });
    expect(Date.parse(body.expires_at) - Date.now()).toBeGreaterThan(890_000);
    const stored = await readAll(await h.client.getObject(bucket, body.file_path));
    expect(stored.toString()).toBe("hello, storage");
    const stat = await h.client.statObject(bucket, body.file_path);
    expect(stat.metaData["content-type"]).toBe("text/plain");
    expect(stat.metaData["original-name"]).toBe("notes.txt");
  });

  it("the download_url, fetched with a plain HTTP client, returns the bytes and the filename", async () => {
    const name = "Übersicht (final) 'v2'.txt";
    const res = await upload(h.app, [file("über-content", name, "text/plain")]);
    expect(res.statusCode).toBe(200);
    const { download_url } = res.json();
    const download = await fetch(download_url);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe("über-content");
    expect(download.headers.get("content-disposition")).toBe(
      `attachment; filename="Ubersicht (final) 'v2'.txt"; filename*=UTF-8''%C3%9Cbersicht%20%28final%29%20%27v2%27.txt`,
    );
  });

  it("links are signed for the public endpoint: the same link sent to the in-cluster host is refused", async () => {
    const res = await upload(h.app, [file("host matters")]);
    const url = new URL(res.json().download_url);
    expect(url.hostname).toBe("localhost"); // MINIO_PUBLIC_ENDPOINT, not MINIO_ENDPOINT (127.0.0.1)
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("host");
    url.hostname = "127.0.0.1";
    const refused = await fetch(url);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("SignatureDoesNotMatch");
  });

  it("an expired link and an anonymous GET are refused by MinIO", async () => {
    const res = await upload(h.app, [file("short-lived")], "/upload?expires_in=1");
    expect(res.statusCode).toBe(200);
    const { download_url, file_path } = res.json();
    // Anonymous: the buckets are private.
    const anonymous = await fetch(`${h.minio.server("hot").endpoint}/${bucket}/${file_path}`);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain("AccessDenied");
    // SigV4 expiry has one-second resolution: wait past it.
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await fetch(download_url);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toMatch(/expired/i);
  });

  it("keeps the original name in metadata and uses a safe one in the key", async () => {
    const original = "C:\\Users\\Zoë\\Desktop\\Quarterly report ‮fdp.exe";
    const res = await upload(h.app, [file("x", original, "application/octet-stream")]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.safe_name).toBe("Quarterly report fdp.exe");
    expect(body.file_path.endsWith("/Quarterly report fdp.exe")).toBe(true);
    expect(body.filename).toBe(original);
    const stat = await h.client.statObject(bucket, body.file_path);
    expect(decodeURIComponent(stat.metaData["original-name"])).toBe(
      "C:\\Users\\Zoë\\Desktop\\Quarterly report fdp.exe",
    );
  });

  it("streams a file larger than one part as a multipart upload, byte for byte", async () => {
    const data = randomBytes(11 * MiB + 123);
    const res = await upload(h.app, [file(data, "big.bin", "application/octet-stream")]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.size).toBe(data.length);
    expect(body.etag).toMatch(/-3$/); // three parts: 5 + 5 + 1 MiB
    expect(sha256(await readAll(await h.client.getObject(bucket, body.file_path)))).toBe(sha256(data));
  });
});

describe("POST /v1/uploads", () => {
  it("same contract, 201, and equal names never collide", async () => {
    const first = await upload(h.app, [file("one", "same.txt")], "/v1/uploads");
    const second = await upload(h.app, [file("two", "same.txt")], "/v1/uploads");
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(first.json().file_path).not.toBe(second.json().file_path);
    expect((await readAll(await h.client.getObject(bucket, first.json().file_path))).toString()).toBe("one");
    expect((await readAll(await h.client.getObject(bucket, second.json().file_path))).toString()).toBe("two");
  });

  it("accepts every configured API key (rotation)", async () => {
    const res = await upload(h.app, [file("rotated")], "/v1/uploads", { authorization: `Bearer ${OTHER_KEY}` });
    expect(res.statusCode).toBe(201);
  });

  it("ignores extra text fields", async () => {
    const res = await upload(h.app, [{ name: "comment", data: "hi" }, file("with a field")], "/v1/uploads");
    expect(res.statusCode).toBe(201);
  });
});

describe("refused uploads: the right 4xx, a JSON error, and nothing written", () => {
  let small: FastifyInstance;
  beforeAll(async () => {
    small = await h.appWith({ MAX_UPLOAD_BYTES: "1024" });
  });

  async function refused(
    send: () => Promise<{ statusCode: number; json(): { error: { code: string; message: string } } }>,
    status: number,
    code: string,
  ) {
    const before = await listKeys(h.client, bucket);
    const res = await send();
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(typeof res.json().error.message).toBe("string");
    expect(await listKeys(h.client, bucket)).toEqual(before);
    expect(await pendingUploadsUnder(h.client, bucket, "")).toEqual([]);
    return res;
  }

  it("path traversal in the name", async () => {
    await refused(() => upload(h.app, [file("x", "../../etc/passwd")]), 400, "INVALID_FILENAME");
    await refused(() => upload(h.app, [file("x", "..\\..\\boot.ini")]), 400, "INVALID_FILENAME");
    await refused(() => upload(h.app, [file("x", "..")]), 400, "INVALID_FILENAME");
  });

  it("control characters in the name", async () => {
    await refused(() => upload(h.app, [file("x", "bell\u0007.txt")]), 400, "INVALID_FILENAME");
    await refused(() => upload(h.app, [file("x", "nul\u0000.txt")]), 400, "INVALID_FILENAME");
  });

  it("a name with nothing usable left is stored as 'file', its original kept in metadata", async () => {
    for (const name of ["", "...", "\u202E"]) {
      const res = await upload(h.app, [file("x", name)]);
      expect(res.statusCode, name).toBe(200);
      expect(res.json().safe_name).toBe("file");
      expect(res.json().filename).toBe(name);
    }
  });

  it("an empty file", async () => {
    await refused(() => upload(h.app, [file("", "empty.txt")]), 400, "EMPTY_FILE");
  });

  it("a file over MAX_UPLOAD_BYTES (413)", async () => {
    await refused(() => upload(small, [file("a".repeat(1025), "big.txt")]), 413, "FILE_TOO_LARGE");
    // Exactly the limit is fine.
    const ok = await upload(small, [file("a".repeat(1024), "limit.txt")]);
    expect(ok.statusCode).toBe(200);
  });

  it("an oversize file that had already started a multipart upload: aborted, no pending upload left", async () => {
    const id = "0b6f7c1e-0000-4000-8000-00000000a413";
    const capped = await h.appWith({ MAX_UPLOAD_BYTES: String(6 * MiB) }, fixedId(id));
    const res = await refused(
      () => upload(capped, [file(randomBytes(7 * MiB), "huge.bin", "application/octet-stream")]),
      413,
      "FILE_TOO_LARGE",
    );
    expect(res.json().error.message).toContain(String(6 * MiB));
    const key = `uploads/2026/03/04/${id}/huge.bin`;
    expect(await pendingUploads(h.client, bucket, key)).toEqual([]);
  });

  it("a content type that is not allowed (415)", async () => {
    await refused(
      () => upload(h.app, [file("MZ", "setup.exe", "application/x-msdownload")]),
      415,
      "UNSUPPORTED_CONTENT_TYPE",
    );
    await refused(() => upload(h.app, [file("x", "video.mp4", "video/mp4")]), 415, "UNSUPPORTED_CONTENT_TYPE");
  });

  it("malformed multipart", async () => {
    const truncated = multipart([file("some content that never ends")]).payload.subarray(0, -20);
    await refused(
      () =>
        h.app.inject({
          method: "POST",
          url: "/upload",
          headers: { ...auth, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
          payload: truncated,
        }),
      400,
      "MALFORMED_MULTIPART",
    );
    await refused(
      () =>
        h.app.inject({
          method: "POST",
          url: "/upload",
          headers: { ...auth, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
          payload: "this is not multipart at all",
        }),
      400,
      "MALFORMED_MULTIPART",
    );
  });

  it("a body that is not multipart (415)", async () => {
    await refused(
      () => h.app.inject({ method: "POST", url: "/upload", headers: auth, payload: { file: "x" } }),
      415,
      "NOT_MULTIPART",
    );
  });

  it("no file part, a file under another name, or two files", async () => {
    await refused(() => upload(h.app, [{ name: "comment", data: "no file" }]), 400, "MISSING_FILE");
    await refused(() => upload(h.app, [{ ...file("x"), name: "document" }]), 400, "UNEXPECTED_PART");
    // The first file is stored before the second arrives: it is removed again.
    await refused(() => upload(h.app, [file("one", "1.txt"), file("two", "2.txt")]), 413, "TOO_MANY_FILES");
  });

  it("a missing or wrong token (401)", async () => {
    await refused(() => upload(h.app, [file("x")], "/upload", {} as typeof auth), 401, "UNAUTHENTICATED");
    await refused(
      () => upload(h.app, [file("x")], "/v1/uploads", { authorization: "Bearer wrong-key-0123456789" }),
      401,
      "UNAUTHENTICATED",
    );
  });

  it("an expiry above PRESIGN_MAX_SECONDS (400, not clamped)", async () => {
    const res = await refused(() => upload(h.app, [file("x")], "/upload?expires_in=3601"), 400, "EXPIRY_TOO_LONG");
    expect(res.json().error.message).toContain("3600");
    await refused(() => upload(h.app, [file("x")], "/upload?expires_in=0"), 400, "VALIDATION_ERROR");
  });
});

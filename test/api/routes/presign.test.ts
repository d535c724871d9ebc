// POST /v1/uploads/presign: links for direct-to-MinIO uploads, exercised against MinIO itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../../api/app";
import { loadConfig } from "../../../api/config";
import { readAll } from "../../helpers/minio";
import { API_KEY, apiKeysJson, auth, envFor, type Harness, listKeys, startHarness } from "../support";

let h: Harness;
let bucket: string;

beforeAll(async () => {
  h = await startHarness();
  bucket = h.config.buckets.uploads;
});
afterAll(async () => h?.close());

async function presign(payload: Record<string, unknown>, headers: Record<string, string> = auth) {
  return h.app.inject({ method: "POST", url: "/v1/uploads/presign", headers, payload });
}

/** Sends a browser-style form upload to a presigned POST policy. */
async function postForm(url: string, fields: Record<string, string>, content: Blob, filename = "upload.bin") {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", content, filename); // the file must be the last field
  return fetch(url, { method: "POST", body: form });
}

describe("presigned POST policy (the default)", () => {
  it("a key of ours and a form MinIO accepts: the upload lands with its type and original name", async () => {
    const res = await presign({ filename: "Große Datei.zip", content_type: "application/zip", size: 64 });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      method: "POST",
      bucket,
      safe_name: "Große Datei.zip",
      max_bytes: 64,
      expires_in: 900,
    });
    expect(body.file_path).toMatch(/^uploads\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\/Große Datei\.zip$/);
    expect(new URL(body.url).host).toBe(`localhost:${h.minio.server("hot").port}`);
    expect(body.fields.key).toBe(body.file_path);

    const upload = await postForm(body.url, body.fields, new Blob(["PK".padEnd(64, "!")], { type: "application/zip" }));
    expect(upload.status, await upload.text()).toBe(204);
    const stat = await h.client.statObject(bucket, body.file_path);
    expect(stat.size).toBe(64);
    expect(stat.metaData["content-type"]).toBe("application/zip");
    expect(decodeURIComponent(stat.metaData["original-name"])).toBe("Große Datei.zip");
  });

  it("MinIO enforces the policy: too large, empty or another content type is refused", async () => {
    const res = await presign({ filename: "a.pdf", content_type: "application/pdf", size: 10 });
    const { url, fields, file_path } = res.json();
    const tooLarge = await postForm(url, fields, new Blob(["x".repeat(11)]));
    expect(tooLarge.status).toBe(400);
    expect(await tooLarge.text()).toContain("EntityTooLarge");
    const empty = await postForm(url, fields, new Blob([]));
    expect(empty.status).toBe(400);
    const otherType = await postForm(url, { ...fields, "Content-Type": "text/html" }, new Blob(["<script>"]));
    expect(otherType.status).toBe(403);
    expect(await listKeys(h.client, bucket, file_path)).toEqual([]);
  });

  it("without a size, the cap is MAX_UPLOAD_BYTES", async () => {
    const res = await presign({ filename: "a.txt", content_type: "text/plain" });
    expect(res.json().max_bytes).toBe(h.config.limits.maxUploadBytes);
    const policy = JSON.parse(Buffer.from(res.json().fields.policy, "base64").toString());
    expect(policy.conditions).toContainEqual(["content-length-range", 1, h.config.limits.maxUploadBytes]);
    expect(policy.conditions).toContainEqual(["eq", "$Content-Type", "text/plain"]);
  });
});

describe("presigned PUT", () => {
  const putLink = async (size: number, filename = "data.json", contentType = "application/json") => {
    const res = await presign({ filename, content_type: contentType, size, method: "PUT", expires_in: 60 });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  it("uploads straight to MinIO under our key, with its type and original name", async () => {
    const body = await putLink(7, "Daten «1».json");
    expect(body).toMatchObject({
      method: "PUT",
      headers: { "Content-Type": "application/json", "Content-Length": "7" },
      max_bytes: 7,
      expires_in: 60,
    });
    expect(body.fields).toBeUndefined();
    // Every header the client must send is signed: the link names them.
    expect(new URL(body.url).searchParams.get("X-Amz-SignedHeaders")).toBe(
      "content-length;content-type;host;x-amz-meta-original-name",
    );
    const put = await fetch(body.url, { method: "PUT", headers: body.headers, body: '{"a":1}' });
    expect(put.status, await put.text()).toBe(200);
    expect((await readAll(await h.client.getObject(bucket, body.file_path))).toString()).toBe('{"a":1}');
    const stat = await h.client.statObject(bucket, body.file_path);
    expect(stat.metaData["content-type"]).toBe("application/json");
    expect(decodeURIComponent(stat.metaData["original-name"])).toBe("Daten «1».json");
  });

  it("MinIO refuses another size or another content type, and nothing lands", async () => {
    // The case: a link asked for 10 bytes of application/pdf.
    const body = await putLink(10, "a.pdf", "application/pdf");
    const { "Content-Length": _length, ...headers } = body.headers as Record<string, string>;
    const html = "<html>".padEnd(3 * 1024 * 1024, "x");
    const attempts: [string, string, string][] = [
      ["a bigger body", "application/pdf", html],
      ["a shorter body", "application/pdf", "012345678"],
      ["another type", "text/html", "0123456789"],
      ["both", "text/html", html],
    ];
    for (const [what, type, payload] of attempts) {
      // fetch sets Content-Length from the body, as any client does.
      const put = await fetch(body.url, {
        method: "PUT",
        headers: { ...headers, "Content-Type": type },
        body: payload,
      });
      expect(put.status, what).toBe(403);
      expect(await put.text(), what).toContain("SignatureDoesNotMatch");
    }
    expect(await listKeys(h.client, bucket, body.file_path)).toEqual([]);
    const exact = await fetch(body.url, { method: "PUT", headers, body: "%PDF-1.7\n\n" });
    expect(exact.status).toBe(200);
  });

  it("needs the exact size", async () => {
    const res = await presign({ filename: "a.txt", content_type: "text/plain", method: "PUT" });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("SIZE_REQUIRED");
  });
});

describe("presigning is pure computation", () => {
  it("works while MINIO_ENDPOINT points at nothing: no network call per presign", async () => {
    const config = loadConfig(
      envFor(h.minio.server("hot"), { MINIO_ENDPOINT: "http://127.0.0.1:1", API_KEYS: apiKeysJson([API_KEY]) }),
    );
    const app = await buildApp({ config, logger: false });
    try {
      for (const method of ["PUT", "POST"]) {
        const res = await app.inject({
          method: "POST",
          url: "/v1/uploads/presign",
          headers: auth,
          payload: { filename: "x.txt", content_type: "text/plain", size: 1, method },
        });
        expect(res.statusCode, res.body).toBe(200);
      }
      // And the link signed without MinIO is accepted by MinIO (public endpoint = the real server).
      const res = await app.inject({
        method: "POST",
        url: "/v1/uploads/presign",
        headers: auth,
        payload: { filename: "offline.txt", content_type: "text/plain", size: 14, method: "PUT" },
      });
      const put = await fetch(res.json().url, { method: "PUT", headers: res.json().headers, body: "signed offline" });
      expect(put.status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe("refused presign requests", () => {
  it.each([
    [{ filename: "a.txt", content_type: "text/plain", expires_in: 3601 }, 400, "EXPIRY_TOO_LONG"],
    [{ filename: "a.exe", content_type: "application/x-msdownload" }, 415, "UNSUPPORTED_CONTENT_TYPE"],
    [{ filename: "a.bin", content_type: "application/octet-stream", size: 104_857_601 }, 413, "FILE_TOO_LARGE"],
    [{ filename: "../../a.txt", content_type: "text/plain" }, 400, "INVALID_FILENAME"],
    [{ filename: "a\u0000.txt", content_type: "text/plain" }, 400, "INVALID_FILENAME"],
    [{ filename: "a.txt" }, 400, "VALIDATION_ERROR"],
    [{ filename: "a.txt", content_type: "text/plain", method: "DELETE" }, 400, "VALIDATION_ERROR"],
    [{ filename: "a.txt", content_type: "text/plain", bucket: "other" }, 400, "VALIDATION_ERROR"],
    [{ filename: "a.txt", content_type: "text/plain", size: 0 }, 400, "VALIDATION_ERROR"],
  ])("%j -> %i %s", async (payload, status, code) => {
    const res = await presign(payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
  });

  it("needs a valid token", async () => {
    const payload = { filename: "a.txt", content_type: "text/plain" };
    expect((await presign(payload, {})).statusCode).toBe(401);
    expect((await presign(payload, { authorization: "Bearer not-a-real-key-at-all" })).statusCode).toBe(401);
  });
});

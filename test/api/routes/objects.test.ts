// GET /v1/objects/{bucket}/url: presigned downloads of existing objects, only in our two buckets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_KEY, apiKeysJson, auth, file, type Harness, multipart, postMultipart, startHarness } from "../support";

let h: Harness;
let uploaded: { file_path: string; bucket: string };
let artifact: string;

beforeAll(async () => {
  h = await startHarness();
  const res = await postMultipart(h.app, "/v1/uploads", [file("object bytes", "Résumé 2026.pdf", "application/pdf")]);
  uploaded = res.json();
  const save = multipart([
    { name: "result", contentType: "application/json", data: "{}" },
    { name: "files", filename: "out.csv", contentType: "text/csv", data: "a,b\n" },
  ]);
  const saved = await h.app.inject({
    method: "POST",
    url: "/v1/executions/run-1/artifacts",
    headers: { ...auth, ...save.headers },
    payload: save.payload,
  });
  artifact = saved.json().files[0].file_path;
  // An object where no committed save points: what a save that lost a race could leave.
  await h.client.putObject(h.config.buckets.artifacts, "executions/run-1/stray/out.csv", Buffer.from("old"), 3);
});
afterAll(async () => h?.close());

const urlFor = (bucket: string, query: string, headers: Record<string, string> = auth) =>
  h.app.inject({ method: "GET", url: `/v1/objects/${bucket}/url?${query}`, headers });

describe("GET /v1/objects/{bucket}/url", () => {
  it("a link that downloads the object under its original name", async () => {
    const res = await urlFor(uploaded.bucket, `key=${encodeURIComponent(uploaded.file_path)}&expires_in=120`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      bucket: uploaded.bucket,
      key: uploaded.file_path,
      filename: "Résumé 2026.pdf",
      size: 12,
      expires_in: 120,
    });
    expect(new URL(body.url).searchParams.get("X-Amz-Expires")).toBe("120");
    const download = await fetch(body.url);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe("object bytes");
    expect(download.headers.get("content-disposition")).toBe(
      `attachment; filename="Resume 2026.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`,
    );
  });

  it("works for the artifacts bucket: a committed save's files and its result.json", async () => {
    expect(artifact).toMatch(/^executions\/run-1\/[0-9a-f-]{36}\/out\.csv$/);
    const res = await urlFor(h.config.buckets.artifacts, `key=${artifact}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().filename).toBe("out.csv");
    expect(await (await fetch(res.json().url)).text()).toBe("a,b\n");
    const result = await urlFor(h.config.buckets.artifacts, "key=executions/run-1/result.json");
    expect(result.statusCode).toBe(200);
    expect(await (await fetch(result.json().url)).text()).toBe("{}");
  });

  it("an artifact outside its execution's committed save is not found", async () => {
    for (const key of ["executions/run-1/stray/out.csv", "executions/run-2/result.json", "executions/run-1/out.csv"]) {
      const res = await urlFor(h.config.buckets.artifacts, `key=${key}`);
      expect(res.statusCode, key).toBe(404);
      expect(res.json().error.code).toBe("OBJECT_NOT_FOUND");
    }
  });

  it("keys outside the API's prefixes are 404 and keys with '..' are 400, never 500 (as the deployed user)", async () => {
    await h.client.putObject(h.config.buckets.uploads, "private/elsewhere.txt", Buffer.from("not yours"));
    for (const [bucket, key] of [
      [h.config.buckets.uploads, "private/elsewhere.txt"],
      [h.config.buckets.uploads, "executions/run-1/result.json"],
      [h.config.buckets.artifacts, uploaded.file_path],
    ] as const) {
      const res = await urlFor(bucket, `key=${encodeURIComponent(key)}`);
      expect(res.statusCode, key).toBe(404);
      expect(res.json().error.code).toBe("OBJECT_NOT_FOUND");
    }
    for (const key of ["uploads/../private/elsewhere.txt", "uploads/./x", "uploads//x", "executions/run-1/../x"]) {
      const res = await urlFor(h.config.buckets.uploads, `key=${encodeURIComponent(key)}`);
      expect(res.statusCode, key).toBe(400);
      expect(res.json().error.code).toBe("INVALID_KEY");
    }
  });

  it("each bucket needs its scope: download for uploads, artifacts:read for artifacts", async () => {
    const app = await h.appWith({ API_KEYS: apiKeysJson([API_KEY], ["download"]) });
    const get = (bucket: string, key: string) =>
      app.inject({ method: "GET", url: `/v1/objects/${bucket}/url?key=${encodeURIComponent(key)}`, headers: auth });
    expect((await get(uploaded.bucket, uploaded.file_path)).statusCode).toBe(200);
    const forbidden = await get(h.config.buckets.artifacts, artifact);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error).toEqual({
      code: "FORBIDDEN",
      message: 'key "client-1" does not hold the scope "artifacts:read"',
    });
  });

  it("only our two buckets, even when the credentials could reach others", async () => {
    await h.client.makeBucket("someone-elses");
    await h.client.putObject("someone-elses", "secret.txt", Buffer.from("secret"));
    const res = await urlFor("someone-elses", "key=secret.txt");
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("BUCKET_NOT_FOUND");
  });

  it.each([
    ["key=uploads/nope.txt", 404, "OBJECT_NOT_FOUND"],
    ["", 400, "VALIDATION_ERROR"],
    ["key=", 400, "VALIDATION_ERROR"],
    ["key=a%0Ab", 400, "INVALID_KEY"],
    ["key=a&expires_in=3601", 400, "EXPIRY_TOO_LONG"],
    ["key=a&expires_in=-1", 400, "VALIDATION_ERROR"],
    ["key=a&other=1", 400, "VALIDATION_ERROR"],
  ])("%s -> %i %s", async (query, status, code) => {
    const res = await urlFor(h.config.buckets.uploads, query);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
  });

  it("needs a valid token", async () => {
    expect((await urlFor(uploaded.bucket, `key=${uploaded.file_path}`, {})).statusCode).toBe(401);
  });
});

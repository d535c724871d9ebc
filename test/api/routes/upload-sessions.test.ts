// Resumable upload sessions: the API as the deployed user creates, lists, completes and aborts;
// the parts go straight to MinIO through the links, as a browser sends them.
import { createHash, randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, type Harness, MiB, OTHER_KEY, pendingUploadsUnder, startHarness } from "../support";

let h: Harness;
let bucket: string;
const otherKey = { authorization: `Bearer ${OTHER_KEY}` };
const PART = 5 * MiB;

beforeAll(async () => {
  h = await startHarness({ MULTIPART_PART_BYTES: String(PART), MAX_UPLOAD_BYTES: String(64 * MiB) });
  bucket = h.config.buckets.uploads;
});
afterAll(async () => h?.close());

async function createSession(size: number, app: FastifyInstance = h.app, filename = "Große Datei.bin") {
  const res = await app.inject({
    method: "POST",
    url: "/v1/uploads/sessions",
    headers: auth,
    payload: { filename, content_type: "application/octet-stream", size },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { session_id: string; file_path: string; part_size: number; part_count: number };
}

async function partLinks(sessionId: string, partNumbers: number[], headers = auth) {
  return h.app.inject({
    method: "POST",
    url: `/v1/uploads/sessions/${sessionId}/parts`,
    headers,
    payload: { part_numbers: partNumbers },
  });
}

/** PUTs one part through its link, as a browser does (the length is the body's own). */
async function putPart(link: { url: string; headers: Record<string, string> }, body: Buffer) {
  const headers = Object.fromEntries(
    Object.entries(link.headers).filter(([name]) => name.toLowerCase() !== "content-length"),
  );
  return fetch(link.url, { method: "PUT", headers, body });
}

const sessionUrl = (id: string, rest = "") => `/v1/uploads/sessions/${id}${rest}`;

describe("a session from start to finish", () => {
  it("parts straight to MinIO, resumed from the list, completed: the file is whole, with its name and type", async () => {
    const data = randomBytes(12 * MiB);
    const session = await createSession(data.length);
    expect(session).toMatchObject({ part_size: PART, part_count: 3 });
    expect(session.file_path).toMatch(/^uploads\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\/Große Datei\.bin$/);

    const links = (await partLinks(session.session_id, [1, 3])).json().parts;
    expect(links.map((l: { size: number }) => l.size)).toEqual([PART, 2 * MiB]);
    expect((await putPart(links[0], data.subarray(0, PART))).status).toBe(200);
    expect((await putPart(links[1], data.subarray(2 * PART))).status).toBe(200);

    // A reload: the list says what is there, the rest follows.
    const listed = (
      await h.app.inject({ method: "GET", url: sessionUrl(session.session_id, "/parts"), headers: auth })
    ).json();
    expect(listed).toMatchObject({ part_count: 3, uploaded_bytes: PART + 2 * MiB });
    expect(listed.parts.map((p: { part_number: number }) => p.part_number)).toEqual([1, 3]);
    const [second] = (await partLinks(session.session_id, [2])).json().parts;
    expect((await putPart(second, data.subarray(PART, 2 * PART))).status).toBe(200);

    const done = await h.app.inject({
      method: "POST",
      url: sessionUrl(session.session_id, "/complete"),
      headers: auth,
    });
    expect(done.statusCode, done.body).toBe(201);
    expect(done.json()).toMatchObject({
      bucket,
      file_path: session.file_path,
      filename: "Große Datei.bin",
      safe_name: "Große Datei.bin",
      size: data.length,
      content_type: "application/octet-stream",
    });
    const downloaded = Buffer.from(await (await fetch(done.json().download_url)).arrayBuffer());
    expect(createHash("sha256").update(downloaded).digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
    expect(await pendingUploadsUnder(h.client, bucket, "uploads/")).toEqual([]);
    // Completed: the session is gone.
    const again = await h.app.inject({ method: "GET", url: sessionUrl(session.session_id, "/parts"), headers: auth });
    expect(again.json().error.code).toBe("SESSION_NOT_FOUND");
  });
});

describe("refusals, in our error shape, leaving nothing behind", () => {
  it("a declared size above the limit: 413, and no upload is started", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/uploads/sessions",
      headers: auth,
      payload: { filename: "big.bin", content_type: "application/octet-stream", size: 64 * MiB + 1 },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe("FILE_TOO_LARGE");
    expect(await pendingUploadsUnder(h.client, bucket, "uploads/")).toEqual([]);
  });

  it("a part of another length is refused by MinIO itself; a part number beyond the count by the API", async () => {
    const session = await createSession(7 * MiB);
    const [link] = (await partLinks(session.session_id, [2])).json().parts;
    expect(link.size).toBe(2 * MiB);
    const wrong = await putPart(link, randomBytes(2 * MiB + 1));
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toContain("SignatureDoesNotMatch");
    const beyond = await partLinks(session.session_id, [3]);
    expect(beyond.statusCode).toBe(409);
    expect(beyond.json().error).toEqual({
      code: "INVALID_PART_NUMBER",
      message: "this session has parts 1 to 2; asked for 3",
    });
    await h.app.inject({ method: "DELETE", url: sessionUrl(session.session_id), headers: auth });
  });

  it("completing with parts missing names them, and the session goes on", async () => {
    const data = randomBytes(11 * MiB);
    const session = await createSession(data.length);
    const [first] = (await partLinks(session.session_id, [1])).json().parts;
    await putPart(first, data.subarray(0, PART));
    const early = await h.app.inject({
      method: "POST",
      url: sessionUrl(session.session_id, "/complete"),
      headers: auth,
    });
    expect(early.statusCode).toBe(409);
    expect(early.json().error).toEqual({ code: "UPLOAD_INCOMPLETE", message: "parts 2, 3 of 3 are not uploaded yet" });
    await expect(h.client.statObject(bucket, session.file_path)).rejects.toMatchObject({ code: "NotFound" });
    const aborted = await h.app.inject({ method: "DELETE", url: sessionUrl(session.session_id), headers: auth });
    expect(aborted.statusCode).toBe(204);
    expect(await pendingUploadsUnder(h.client, bucket, "uploads/")).toEqual([]);
    const gone = await h.app.inject({ method: "GET", url: sessionUrl(session.session_id, "/parts"), headers: auth });
    expect(gone.statusCode).toBe(404);
  });

  it("another key cannot see, extend, complete or abort a session: 404, and the session is untouched", async () => {
    const session = await createSession(6 * MiB);
    for (const [method, rest, payload] of [
      ["GET", "/parts", undefined],
      ["POST", "/parts", { part_numbers: [1] }],
      ["POST", "/complete", undefined],
      ["DELETE", "", undefined],
    ] as const) {
      const res = await h.app.inject({ method, url: sessionUrl(session.session_id, rest), headers: otherKey, payload });
      expect(res.statusCode, `${method} ${rest}`).toBe(404);
      expect(res.json().error.code).toBe("SESSION_NOT_FOUND");
    }
    const mine = await h.app.inject({ method: "GET", url: sessionUrl(session.session_id, "/parts"), headers: auth });
    expect(mine.statusCode).toBe(200);
    await h.app.inject({ method: "DELETE", url: sessionUrl(session.session_id), headers: auth });
  });

  it("a session id that was altered is no session: 404", async () => {
    const session = await createSession(6 * MiB);
    const [payload, signature] = session.session_id.split(".") as [string, string];
    const decoded = JSON.parse(Buffer.from(payload, "base64url").toString());
    const forged = `${Buffer.from(JSON.stringify({ ...decoded, size: 1 })).toString("base64url")}.${signature}`;
    const res = await h.app.inject({ method: "GET", url: sessionUrl(forged, "/parts"), headers: auth });
    expect(res.statusCode).toBe(404);
    await h.app.inject({ method: "DELETE", url: sessionUrl(session.session_id), headers: auth });
  });

  it("an expired session: 410, and what it held is deleted", async () => {
    const session = await createSession(6 * MiB);
    const [link] = (await partLinks(session.session_id, [1])).json().parts;
    await putPart(link, randomBytes(PART));
    const later = await h.appWith({}, { now: () => new Date(Date.now() + 2 * 86_400_000) });
    const res = await later.inject({ method: "GET", url: sessionUrl(session.session_id, "/parts"), headers: auth });
    expect(res.statusCode).toBe(410);
    expect(res.json().error.code).toBe("SESSION_EXPIRED");
    await expect.poll(() => pendingUploadsUnder(h.client, bucket, "uploads/"), { timeout: 5000 }).toEqual([]);
  });
});

describe("abandoned sessions", () => {
  it("the janitor aborts uploads under uploads/ older than a session lives, and counts them", async () => {
    const session = await createSession(6 * MiB);
    expect(await h.app.sessionJanitor.sweep()).toBe(0);
    const later = await h.appWith({}, { now: () => new Date(Date.now() + 2 * 86_400_000) });
    expect(await later.sessionJanitor.sweep()).toBe(1);
    expect(await pendingUploadsUnder(h.client, bucket, "uploads/")).toEqual([]);
    const metrics = await later.metrics.registry.metrics();
    expect(metrics).toContain('upload_sessions_total{outcome="abandoned"} 1');
    const res = await h.app.inject({ method: "GET", url: sessionUrl(session.session_id, "/parts"), headers: auth });
    expect(res.statusCode).toBe(404);
  });
});

describe("browsers: CORS and the upload page", () => {
  it("answers preflights for the configured origins only", async () => {
    const app = await h.appWith({ CORS_ALLOWED_ORIGINS: "http://studio.test:8080" });
    const preflight = (origin: string) =>
      app.inject({
        method: "OPTIONS",
        url: "/v1/uploads/sessions",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
    const allowed = await preflight("http://studio.test:8080");
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers["access-control-allow-origin"]).toBe("http://studio.test:8080");
    expect(String(allowed.headers["access-control-allow-headers"]).toLowerCase()).toContain("authorization");
    const other = await preflight("http://elsewhere.test");
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("serves the upload page only when UPLOAD_PAGE is on", async () => {
    expect((await h.app.inject({ method: "GET", url: "/upload-page" })).statusCode).toBe(404);
    const app = await h.appWith({ UPLOAD_PAGE: "true" });
    const page = await app.inject({ method: "GET", url: "/upload-page" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toContain("/v1/uploads/sessions");
  });
});

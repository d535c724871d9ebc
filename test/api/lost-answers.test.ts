// MinIO's answers lost or never given, as `npm run faults` saw them. A commit MinIO carried out whose
// answer never reached the API (a node died between the two): the write happened, so the client is
// told 201, not 503 (a refused upload that was stored anyway) or 409 (a save that "lost" to itself).
// A request MinIO holds without answering: the client gets 503 before its own connection idles out.
import { Agent, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HoldingProxy, startHoldingProxy } from "../helpers/holding-proxy";
import { readAll } from "../helpers/minio";
import { auth, file, type Harness, multipart, pendingUploads, postMultipart, startHarness } from "./support";

let h: Harness;
let proxy: HoldingProxy;
let app: Awaited<ReturnType<Harness["appWith"]>>;

beforeAll(async () => {
  h = await startHarness();
  proxy = await startHoldingProxy(h.minio.server("hot").endpoint);
  app = await h.appWith({ MINIO_ENDPOINT: proxy.url });
});
afterAll(async () => {
  await proxy?.close();
  await h?.close();
});

/** A save whose result.json MinIO writes, its answer held at the proxy (drop it to lose it). */
function saveWithResultAnswerHeld(executionId: string) {
  const held = proxy.holdNext((r) => r.method === "PUT" && r.path.endsWith(`/${executionId}/result.json`), {
    reachServer: true,
  });
  const body = multipart([
    { name: "result", contentType: "application/json", data: '{"ok":true}' },
    { name: "files", filename: "out.txt", contentType: "text/plain", data: "output" },
  ]);
  const response = app.inject({
    method: "POST",
    url: `/v1/executions/${executionId}/artifacts`,
    headers: { ...auth, ...body.headers },
    payload: body.payload,
  });
  return { held, response };
}

describe("a commit whose answer was lost", () => {
  it("an upload MinIO stored is answered 201 with its object", async () => {
    const held = proxy.holdNext((r) => r.method === "PUT" && r.path.endsWith("/lost-answer.txt"), {
      reachServer: true,
    });
    const response = postMultipart(app, "/v1/uploads", [file("stored, answer lost", "lost-answer.txt")]);
    (await held).drop();
    const res = await response;
    expect(res.statusCode, res.body).toBe(201);
    const stored = await readAll(await h.client.getObject(h.config.buckets.uploads, res.json().file_path));
    expect(stored.toString()).toBe("stored, answer lost");
  });

  it("a save whose result.json MinIO wrote is answered 201, and the save is there", async () => {
    const { held, response } = saveWithResultAnswerHeld("run-lost-answer");
    (await held).drop();
    const res = await response;
    expect(res.statusCode, res.body).toBe(201);
    const listed = await app.inject({ method: "GET", url: "/v1/executions/run-lost-answer/artifacts", headers: auth });
    expect(
      listed
        .json()
        .artifacts.map((a: { name: string }) => a.name)
        .sort(),
    ).toEqual(["out.txt", "result.json"]);
  });
});

describe("a commit whose answer was lost while MinIO was unreachable", () => {
  it("a save is still answered 201: the check is asked again until MinIO answers", async () => {
    const { held: put, response } = saveWithResultAnswerHeld("run-lost-twice");
    const held = await put;
    // The check after the lost answer is cut too, as when the whole MinIO stops right after a write.
    const check = proxy.holdNext((r) => r.method === "HEAD" && r.path.endsWith("/run-lost-twice/result.json"));
    held.drop();
    (await check).drop();
    const res = await response;
    expect(res.statusCode, res.body).toBe(201);
  });
});

describe("MinIO failing in the middle of an upload, over a real connection", () => {
  it("the client gets its 503 with Retry-After, and its connection serves the next request at once", async () => {
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    // The second part of this upload: MinIO never answers it, the connection to MinIO is cut.
    const held = proxy.holdNext((r) => r.method === "PUT" && r.query.get("partNumber") === "2");
    const body = multipart([file(Buffer.alloc(40 * 1024 * 1024, 1), "cut-mid-upload.bin", "application/octet-stream")]);
    // One kept-alive connection, as clients keep them: after the answer the connection must serve the
    // next request at once, not hold it behind the unread rest of the body until the idle timeout.
    const { send, close } = oneConnection(url);
    const answer = send("/v1/uploads", "POST", body.payload, body.headers);
    (await held).drop();
    expect(await answer).toMatchObject({ status: 503, retryAfter: "5" });
    const started = Date.now();
    expect((await send("/healthz", "GET")).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
    close();
  });

  it("the same when MinIO is down before the first part: a large rest of the body is dropped, not left to block", async () => {
    const down = await h.appWith({ MINIO_ENDPOINT: "http://127.0.0.1:9" });
    const url = await down.listen({ port: 0, host: "127.0.0.1" });
    const { send, close } = oneConnection(url);
    const body = multipart([file(Buffer.alloc(64 * 1024 * 1024, 3), "minio-down.bin", "application/octet-stream")]);
    expect(await send("/v1/uploads", "POST", body.payload, body.headers)).toMatchObject({
      status: 503,
      retryAfter: "5",
    });
    const started = Date.now();
    expect((await send("/healthz", "GET")).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
    close();
  });
});

/** Requests over one kept-alive connection (a client's), each answered with its status, or what cut it. */
function oneConnection(url: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (path: string, method: string, payload?: Buffer, headers: Record<string, string> = {}) =>
    new Promise<{ status: number | string; retryAfter: unknown }>((resolve) => {
      const req = request(`${url}${path}`, { method, agent, headers: { ...auth, ...headers } });
      req.on("response", (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] });
      });
      req.on("error", (err: NodeJS.ErrnoException) => resolve({ status: err.code ?? err.message, retryAfter: null }));
      req.end(payload);
    });
  return { send, close: () => agent.destroy() };
}

describe("MinIO holding a request without answering (below write quorum it does, for minutes)", () => {
  // The idle limit lowered from 15 s, so the test is quick; the rule is the same.
  let quick: Awaited<ReturnType<Harness["appWith"]>>;
  beforeAll(async () => {
    quick = await h.appWith({ MINIO_ENDPOINT: proxy.url, MINIO_IDLE_TIMEOUT_MS: "1000" });
  });

  it("an upload whose part MinIO never answers is answered 503 with Retry-After, and aborted", async () => {
    const held = proxy.holdNext((r) => r.method === "PUT" && r.query.get("partNumber") === "2");
    const started = Date.now();
    const res = await postMultipart(quick, "/v1/uploads", [
      file(Buffer.alloc(12 * 1024 * 1024, 2), "held-part.bin", "application/octet-stream"),
    ]);
    expect(res.statusCode, res.body).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(Date.now() - started).toBeLessThan(10_000);
    (await held).drop();
    const key =
      proxy.seen
        .find((r) => r.includes("held-part.bin"))
        ?.split(" ")[1]
        ?.split("?")[0] ?? "";
    expect(key).toContain("held-part.bin");
    const objectKey = decodeURIComponent(key.slice(`/${h.config.buckets.uploads}/`.length));
    expect(await pendingUploads(h.client, h.config.buckets.uploads, objectKey)).toEqual([]);
  });

  it("a download link whose object check MinIO never answers is answered 503 with Retry-After", async () => {
    const held = proxy.holdNext((r) => r.method === "HEAD");
    const started = Date.now();
    const res = await quick.inject({
      method: "GET",
      url: `/v1/objects/${h.config.buckets.uploads}/url?key=uploads/held-head.txt`,
      headers: auth,
    });
    expect(res.statusCode, res.body).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(Date.now() - started).toBeLessThan(10_000);
    (await held).drop();
  });
});

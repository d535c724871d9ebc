// A commit MinIO carried out whose answer never reached the API (a node died between the two, as
// `npm run faults` saw): the write happened, so the client is told 201, not 503 (a refused upload
// that was stored anyway) or 409 (a save that "lost" to itself).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HoldingProxy, startHoldingProxy } from "../helpers/holding-proxy";
import { readAll } from "../helpers/minio";
import { auth, file, type Harness, multipart, startHarness } from "./support";

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

describe("a commit whose answer was lost", () => {
  it("an upload MinIO stored is answered 201 with its object", async () => {
    const held = proxy.holdNext((r) => r.method === "PUT" && r.path.endsWith("/lost-answer.txt"), {
      reachServer: true,
    });
    const body = multipart([file("stored, answer lost", "lost-answer.txt")]);
    const response = app.inject({
      method: "POST",
      url: "/v1/uploads",
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    (await held).drop();
    const res = await response;
    expect(res.statusCode, res.body).toBe(201);
    const stored = await readAll(await h.client.getObject(h.config.buckets.uploads, res.json().file_path));
    expect(stored.toString()).toBe("stored, answer lost");
  });

  it("a save whose result.json MinIO wrote is answered 201, and the save is there", async () => {
    const held = proxy.holdNext((r) => r.method === "PUT" && r.path.endsWith("/run-lost-answer/result.json"), {
      reachServer: true,
    });
    const body = multipart([
      { name: "result", contentType: "application/json", data: '{"ok":true}' },
      { name: "files", filename: "out.txt", contentType: "text/plain", data: "output" },
    ]);
    const response = app.inject({
      method: "POST",
      url: "/v1/executions/run-lost-answer/artifacts",
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
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

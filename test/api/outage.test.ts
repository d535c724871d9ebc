// MinIO goes away mid-test: every route that needs it answers 503 with Retry-After and a message
// that leaks nothing, health stays up, and the same app instance serves again once MinIO is back
// on its address (no restart of the service).
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEnvironment, stopServer } from "../../scripts/local-minio.mts";
import {
  auth,
  BOUNDARY,
  file,
  fixedId,
  type Harness,
  listKeys,
  MiB,
  multipart,
  pendingUploads,
  postMultipart,
  startHarness,
  waitFor,
} from "./support";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const upload = () => postMultipart(h.app, "/v1/uploads", [file("outage test")]);

describe("MinIO unreachable", () => {
  it("works before, 503 with Retry-After while MinIO is stopped, and recovers when it is back", async () => {
    expect((await upload()).statusCode).toBe(201);
    const endpoint = h.minio.server("hot").endpoint;

    await stopServer(h.minio.dir, "hot");

    const requests = [
      () => upload(),
      () => h.app.inject({ method: "GET", url: "/readyz" }),
      () => h.app.inject({ method: "GET", url: "/v1/objects/user-uploads/url?key=uploads/x", headers: auth }),
      () => h.app.inject({ method: "GET", url: "/v1/executions/run-1/artifacts", headers: auth }),
      () => {
        const body = multipart([{ name: "result", contentType: "application/json", data: "{}" }]);
        return h.app.inject({
          method: "POST",
          url: "/v1/executions/run-1/artifacts",
          headers: { ...auth, ...body.headers },
          payload: body.payload,
        });
      },
    ];
    for (const send of requests) {
      const res = await send();
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers["retry-after"]).toBe("5");
      expect(res.json()).toEqual({
        error: { code: "STORAGE_UNAVAILABLE", message: "object storage is unavailable, retry later" },
      });
      // Nothing about where MinIO lives or what failed.
      expect(res.body).not.toContain(new URL(endpoint).port);
      expect(res.body).not.toMatch(/ECONN|127\.0\.0\.1/);
    }
    // Liveness does not depend on MinIO (no restart loop during an outage) and presigning needs no MinIO.
    expect((await h.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    const presign = await h.app.inject({
      method: "POST",
      url: "/v1/uploads/presign",
      headers: auth,
      payload: { filename: "a.txt", content_type: "text/plain" },
    });
    expect(presign.statusCode).toBe(200);
    // Every one of those 503s was counted as a storage outage (none as a client going away).
    const unavailable = (await h.app.metrics.storageUnavailable.get()).values[0]?.value;
    expect(unavailable).toBe(requests.length);
    expect((await h.app.metrics.clientDisconnects.get()).values).toEqual([]);

    // Same port, same credentials, same data folder.
    const restarted = await startEnvironment({ dir: h.minio.dir });
    expect(restarted.find((s) => s.name === "hot")?.endpoint).toBe(endpoint);

    await waitFor("readyz to recover", async () => {
      const res = await h.app.inject({ method: "GET", url: "/readyz" });
      return res.statusCode === 200 ? true : undefined;
    });
    const after = await upload();
    expect(after.statusCode, after.body).toBe(201);
    const download = await fetch(after.json().download_url);
    expect(await download.text()).toBe("outage test");
  });

  it("an upload under way when MinIO stops is answered 503, and the next one succeeds once it is back", async () => {
    const id = "0b6f7c1e-0000-4000-8000-00000000d0c0";
    const app = await h.appWith({}, fixedId(id));
    const key = `uploads/2026/03/04/${id}/interrupted.bin`;
    const body = new PassThrough();
    const response = app.inject({
      method: "POST",
      url: "/v1/uploads",
      headers: { ...auth, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
      payload: body,
    });
    body.write(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="interrupted.bin"\r\n` +
        "Content-Type: application/octet-stream\r\n\r\n",
    );
    body.write(randomBytes(6 * MiB));
    await waitFor("the first part to be stored", async () =>
      (await pendingUploads(h.client, h.config.buckets.uploads, key)).length > 0 ? true : undefined,
    );

    await stopServer(h.minio.dir, "hot");
    body.end(Buffer.concat([randomBytes(5 * MiB), Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]));
    const res = await response;
    expect(res.statusCode, res.body).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.json().error.code).toBe("STORAGE_UNAVAILABLE");
    // The abort could not reach MinIO either: it waits in the background for MinIO to return.

    await startEnvironment({ dir: h.minio.dir });
    await waitFor(
      "the failed request's multipart upload to be aborted once MinIO is back",
      async () => ((await pendingUploads(h.client, h.config.buckets.uploads, key)).length === 0 ? true : undefined),
      // Retries back off 1, 2, 4, 8, 16 s (storage.ts retryLater): on a busy machine MinIO may be
      // back only after the fourth, at 15 s; the fifth comes at 31 s.
      45_000,
    );
    expect(await listKeys(h.client, h.config.buckets.uploads, key)).toEqual([]);
    await waitFor("readyz to recover", async () => {
      const ready = await app.inject({ method: "GET", url: "/readyz" });
      return ready.statusCode === 200 ? true : undefined;
    });
    const retry = await postMultipart(app, "/v1/uploads", [
      file(randomBytes(6 * MiB), "retry.bin", "application/octet-stream"),
    ]);
    expect(retry.statusCode, retry.body).toBe(201);
  });

  it("over a real connection, a write refused while MinIO is down is answered 503, not a reset", async () => {
    // What `npm run faults` found: inject() has no socket to reset, a client does.
    const app = await h.appWith({});
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    await stopServer(h.minio.dir, "hot");
    try {
      for (const size of [16 * 1024, 700 * 1024, 7 * MiB]) {
        const form = multipart([file(randomBytes(size), "refused.bin", "application/octet-stream")]);
        const artifacts = multipart([
          { name: "result", contentType: "application/json", data: "{}" },
          { name: "files", filename: "out.bin", contentType: "application/octet-stream", data: randomBytes(size) },
        ]);
        for (const [path, body] of [
          ["/v1/uploads", form],
          ["/v1/executions/reset-check/artifacts", artifacts],
        ] as const) {
          const res = await fetch(`${url}${path}`, {
            method: "POST",
            headers: { ...auth, ...body.headers },
            body: body.payload,
          }).catch((err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message);
          expect(typeof res === "string" ? res : res.status, `${path} with ${size} bytes`).toBe(503);
        }
      }
    } finally {
      await startEnvironment({ dir: h.minio.dir });
    }
  });
});

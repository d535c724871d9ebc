// Operations routes: liveness, readiness, metrics and the OpenAPI document; and the error shape of
// requests no route takes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, file, type Harness, multipart, startHarness } from "../support";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

describe("GET /healthz and /readyz", () => {
  it("healthz: the process answers, without a token", async () => {
    const res = await h.app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok" });
  });

  it("readyz: MinIO reachable and both buckets present, without a token", async () => {
    const res = await h.app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ready", buckets: ["user-uploads", "workflow-artifacts"] });
  });

  it("readyz: 503 with Retry-After naming a missing bucket", async () => {
    const app = await h.appWith({ ARTIFACTS_BUCKET: "not-created-yet" });
    const res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.json()).toEqual({ error: { code: "BUCKETS_MISSING", message: "missing bucket(s): not-created-yet" } });
  });
});

describe("GET /metrics", () => {
  it("Prometheus text without a token, with request and upload metrics by route template", async () => {
    const body = multipart([file("count me")]);
    await h.app.inject({
      method: "POST",
      url: "/v1/uploads",
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    await h.app.inject({ method: "GET", url: "/v1/executions/some-run/artifacts", headers: auth });
    const res = await h.app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    expect(res.body).toContain('http_request_duration_seconds_count{method="POST",route="/v1/uploads",status="201"} 1');
    expect(res.body).toContain('route="/v1/executions/:executionId/artifacts",status="404"');
    expect(res.body).toContain('storage_uploaded_bytes_total{bucket="user-uploads"} 8');
    expect(res.body).toContain("process_cpu_seconds_total");
  });
});

describe("GET /openapi.json", () => {
  it("needs a token like every other route", async () => {
    expect((await h.app.inject({ method: "GET", url: "/openapi.json" })).statusCode).toBe(401);
  });

  it("documents every route, its multipart bodies, error responses and bearer auth", async () => {
    const res = await h.app.inject({ method: "GET", url: "/openapi.json", headers: auth });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe("3.0.3");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/healthz",
      "/metrics",
      "/openapi.json",
      "/readyz",
      "/upload",
      "/v1/executions/{executionId}/artifacts",
      "/v1/objects/{bucket}/url",
      "/v1/uploads",
      "/v1/uploads/presign",
    ]);
    const upload = doc.paths["/upload"].post;
    expect(upload.requestBody.content["multipart/form-data"].schema.properties.file).toMatchObject({
      type: "string",
      format: "binary",
    });
    expect(Object.keys(upload.responses).sort()).toEqual(["200", "400", "401", "413", "415", "503"]);
    expect(doc.paths["/v1/uploads/presign"].post.requestBody.content["application/json"].schema.required).toEqual([
      "filename",
      "content_type",
    ]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/healthz"].get.security).toEqual([]);
  });
});

describe("requests no route takes", () => {
  it("404 in the common error shape", async () => {
    const res = await h.app.inject({ method: "GET", url: "/nope?x=1" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: "ROUTE_NOT_FOUND", message: "no route GET /nope" } });
  });
});

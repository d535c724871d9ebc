// Operations routes: liveness, readiness, metrics and the OpenAPI document; and the error shape of
// requests no route takes.
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricsServer } from "../../../api/metrics";
import { READY_CACHE_MS, READY_TIMEOUT_MS, reusedFor } from "../../../api/routes/health";
import { PROBE_TIMEOUT_SECONDS } from "../../../rules/api-settings";
import { auth, file, type Harness, postMultipart, startHarness } from "../support";

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

  it("readyz: 503 with Retry-After while MinIO does not know the API's user (a deploy under way)", async () => {
    const app = await h.appWith({ MINIO_ACCESS_KEY: "not-created-yet" });
    const res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.json()).toEqual({
      error: { code: "CREDENTIALS_REFUSED", message: "MinIO refused the API's credentials (InvalidAccessKeyId)" },
    });
  });
});

describe("readiness is cheap", () => {
  it("reusedFor: one run serves every caller while it runs and for the window after, failures too", async () => {
    let now = 0;
    let runs = 0;
    let fail = false;
    const check = reusedFor(
      1000,
      async () => {
        runs += 1;
        if (fail) throw new Error("down");
        return runs;
      },
      () => now,
    );
    expect(await Promise.all([check(), check(), check()])).toEqual([1, 1, 1]);
    now = 999;
    expect(await check()).toBe(1);
    now = 1000;
    fail = true;
    await expect(check()).rejects.toThrow("down");
    now = 1500;
    await expect(check()).rejects.toThrow("down");
    expect(runs).toBe(2);
  });

  it("/readyz costs MinIO one check per interval whatever the probe rate", async () => {
    // A proxy in front of MinIO that counts the requests it forwards (Host kept: SigV4 signs it).
    let forwarded = 0;
    const target = new URL(h.minio.server("hot").endpoint);
    const proxy = createServer((req, res) => {
      forwarded += 1;
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    }).listen(0, "127.0.0.1");
    await once(proxy, "listening");
    try {
      const app = await h.appWith({ MINIO_ENDPOINT: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
      const started = Date.now();
      let probes = 0;
      while (Date.now() - started < 2.5 * READY_CACHE_MS) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, () => app.inject({ method: "GET", url: "/readyz" })),
        );
        for (const a of answers) expect(a.statusCode).toBe(200);
        probes += answers.length;
      }
      const intervals = Math.ceil((Date.now() - started) / READY_CACHE_MS);
      // Two listings (one per bucket, in parallel) per check, at most one check per interval.
      expect(probes).toBeGreaterThan(200);
      expect(forwarded).toBeLessThanOrEqual(2 * intervals);
      expect(forwarded).toBeGreaterThanOrEqual(2);
    } finally {
      proxy.close();
    }
  });
});

describe("GET /metrics", () => {
  it("is not served on the public port", async () => {
    const res = await h.app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("ROUTE_NOT_FOUND");
  });

  it("Prometheus text on its own listener, by route template and key name, never the key", async () => {
    await postMultipart(h.app, "/v1/uploads", [file("count me")]);
    await h.app.inject({ method: "GET", url: "/v1/executions/some-run/artifacts", headers: auth });
    const server = metricsServer(h.app.metrics.registry).listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toContain(
        'http_request_duration_seconds_count{method="POST",route="/v1/uploads",status="201",key="client-1"} 1',
      );
      expect(text).toContain('route="/v1/executions/:executionId/artifacts",status="404",key="client-1"');
      expect(text).toContain('storage_uploaded_bytes_total{bucket="user-uploads"} 8');
      expect(text).toContain("process_cpu_seconds_total");
      expect(text).not.toContain(auth.authorization.slice("Bearer ".length));
      const other = await fetch(`${base}/readyz`);
      expect(other.status).toBe(404);
      expect(((await other.json()) as { error: { code: string } }).error.code).toBe("ROUTE_NOT_FOUND");
    } finally {
      server.close();
    }
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
      "/openapi.json",
      "/readyz",
      "/upload",
      "/v1/executions/{executionId}/artifacts",
      "/v1/objects/{bucket}/url",
      "/v1/uploads",
      "/v1/uploads/presign",
      "/v1/uploads/sessions",
      "/v1/uploads/sessions/{session_id}",
      "/v1/uploads/sessions/{session_id}/complete",
      "/v1/uploads/sessions/{session_id}/parts",
    ]);
    const upload = doc.paths["/upload"].post;
    expect(upload.requestBody.content["multipart/form-data"].schema.properties.file).toMatchObject({
      type: "string",
      format: "binary",
    });
    expect(Object.keys(upload.responses).sort()).toEqual(["200", "400", "401", "403", "413", "415", "503"]);
    // PUT needs the exact size, POST takes it as an upper bound: two shapes of one body.
    const presign = doc.paths["/v1/uploads/presign"].post.requestBody.content["application/json"].schema;
    expect(presign.anyOf.map((shape: { required: string[] }) => shape.required.sort())).toEqual([
      ["content_type", "filename"],
      ["content_type", "filename", "method", "size"],
    ]);
    // Limits the server enforces are in the document, from the same configuration.
    expect(presign.anyOf[0].properties.expires_in.maximum).toBe(h.config.presign.maxSeconds);
    expect(presign.anyOf[1].properties.size.maximum).toBe(h.config.limits.maxUploadBytes);
    const save = doc.paths["/v1/executions/{executionId}/artifacts"].post;
    expect(save.requestBody.content["multipart/form-data"].encoding).toEqual({
      result: { contentType: "application/json" },
    });
    expect(save.requestBody.content["multipart/form-data"].schema.properties.files.maxItems).toBe(
      h.config.limits.maxFilesPerRequest,
    );
    expect(save.responses["201"].links.ListArtifacts.operationId).toBe("listArtifacts");
    expect(upload.responses["200"].links.DownloadLink.parameters).toEqual({
      bucket: "$response.body#/bucket",
      key: "$response.body#/file_path",
    });
    expect(Object.keys(doc.paths["/openapi.json"].get.responses).sort()).toEqual(["200", "401"]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/healthz"].get.security).toEqual([]);
  });

  it("api/README.md's route table lists exactly the documented operations", async () => {
    const doc = (await h.app.inject({ method: "GET", url: "/openapi.json", headers: auth })).json();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const readme = readFileSync(join(__dirname, "..", "..", "..", "api", "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("## Routes"), readme.indexOf("\n## ", readme.indexOf("## Routes") + 1));
    const listed = [...table.matchAll(/^\| `(GET|POST|PUT|DELETE) ([^`?]+)[^`]*`\s/gm)]
      .map((m) => `${m[1]} ${m[2]}`)
      // /metrics is served on its own port, outside the document.
      .filter((op) => op !== "GET /metrics")
      .sort();
    expect(listed).toEqual(documented);
  });

  it("a known path asked with a method it does not have is 405 with Allow, in our error shape", async () => {
    for (const [method, url, allow] of [
      ["TRACE", "/healthz", "GET"],
      ["PUT", "/v1/uploads", "POST"],
      ["DELETE", "/v1/executions/run-1/artifacts", "POST, GET"],
      ["HEAD", "/readyz", "GET"],
    ] as const) {
      const res = await h.app.inject({ method, url, headers: auth });
      expect(res.statusCode, `${method} ${url}`).toBe(405);
      expect(res.headers.allow).toBe(allow);
      if (method !== "HEAD") expect(res.json().error.code).toBe("METHOD_NOT_ALLOWED");
    }
  });
});

describe("requests no route takes", () => {
  it("404 in the common error shape", async () => {
    const res = await h.app.inject({ method: "GET", url: "/nope?x=1" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: "ROUTE_NOT_FOUND", message: "no route GET /nope" } });
  });
});

describe("every error the server sends is in our shape, with its own code", () => {
  it("TOO_MANY_FIELDS and FIELD_TOO_LARGE for forms beyond their limits (413)", async () => {
    const field = (name: string, data = "x") => ({ name, data });
    for (const [parts, code] of [
      [[field("a"), field("b"), field("c"), field("d"), field("e")], "TOO_MANY_FIELDS"],
      [[field("note", "x".repeat(1025)), file("x")], "FIELD_TOO_LARGE"],
    ] as const) {
      const res = await postMultipart(h.app, "/v1/uploads", [...parts]);
      expect(res.statusCode, code).toBe(413);
      expect(res.json().error.code).toBe(code);
    }
  });

  it("UNSUPPORTED_MEDIA_TYPE for a JSON route sent another body type (415)", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/uploads/presign",
      headers: { ...auth, "content-type": "application/xml" },
      payload: "<filename>a.txt</filename>",
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("INTERNAL (500) for a MinIO refusal that is no outage, e.g. a wrong secret key: fixed message, details only in the log", async () => {
    const app = await h.appWith({ MINIO_SECRET_KEY: "not-the-right-secret-key" });
    const res = await app.inject({ method: "GET", url: "/v1/executions/run-1/artifacts", headers: auth });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: "INTERNAL", message: "internal error" } });
  });

  it("readiness answers 503 within its deadline when MinIO accepts connections and never answers", async () => {
    const sockets = new Set<import("node:net").Socket>();
    const silent = createNetServer((socket) => sockets.add(socket)).listen(0, "127.0.0.1");
    await once(silent, "listening");
    try {
      const app = await h.appWith({ MINIO_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` });
      const started = Date.now();
      const res = await app.inject({ method: "GET", url: "/readyz" });
      const took = Date.now() - started;
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe("STORAGE_UNAVAILABLE");
      // Below the kubelet's probe timeout (the Pulumi program derives it), so the probe sees our 503.
      expect(took).toBeGreaterThanOrEqual(READY_TIMEOUT_MS - 50);
      expect(took).toBeLessThan(PROBE_TIMEOUT_SECONDS * 1000);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

// Prometheus metrics on a registry of the app's own (not prom-client's global one), so several
// apps in one process (tests) never collide. Served by a listener of their own (METRICS_PORT), never
// on the public port: the Service and Ingress clients use do not reach them.
import { createServer, type Server } from "node:http";
import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { errorBody } from "./errors";

export interface Metrics {
  registry: Registry;
  requests: Histogram<"method" | "route" | "status" | "key">;
  uploadedBytes: Counter<"bucket">;
  storageUnavailable: Counter;
  clientDisconnects: Counter<"route">;
  uploadsInFlight: Gauge;
  uploadsShed: Counter;
  uploadSessions: Counter<"outcome">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP requests by route template, status and API key name",
      labelNames: ["method", "route", "status", "key"],
      // Uploads take seconds to minutes; presigns and health checks milliseconds.
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    }),
    uploadedBytes: new Counter({
      name: "storage_uploaded_bytes_total",
      help: "Bytes stored through the API",
      labelNames: ["bucket"],
      registers,
    }),
    storageUnavailable: new Counter({
      name: "storage_unavailable_total",
      help: "Requests answered 503 because MinIO was unreachable",
      registers,
    }),
    clientDisconnects: new Counter({
      name: "http_client_disconnects_total",
      help: "Requests whose client went away before the answer (not a storage failure)",
      labelNames: ["route"],
      registers,
    }),
    uploadsInFlight: new Gauge({
      name: "uploads_in_flight",
      help: "Uploads this process is streaming now",
      registers,
    }),
    uploadSessions: new Counter({
      name: "upload_sessions_total",
      help: "Resumable upload sessions by outcome: started, completed, aborted (by the client), abandoned (aborted by the API once older than MULTIPART_SESSION_SECONDS)",
      labelNames: ["outcome"],
      registers,
    }),
    uploadsShed: new Counter({
      name: "uploads_shed_total",
      help: "Uploads refused with 503 because MAX_CONCURRENT_UPLOADS were already in flight",
      registers,
    }),
  };
}

/** The route template, not the URL: ids in URLs would make the label set unbounded. */
export function routeLabel(request: { routeOptions: { url?: string } }): string {
  return request.routeOptions.url ?? "unmatched";
}

export function observeRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook("onResponse", async (request, reply) => {
    metrics.requests.observe(
      {
        method: request.method,
        route: routeLabel(request),
        status: String(reply.statusCode),
        key: request.client?.name ?? "none",
      },
      reply.elapsedTime / 1000,
    );
  });
}

/** A plain HTTP listener that serves GET /metrics and nothing else. */
export function metricsServer(registry: Registry): Server {
  return createServer((req, res) => {
    if (req.method === "GET" && req.url?.split("?")[0] === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        () => res.writeHead(500, { "content-type": "application/json" }).end(errorJson("INTERNAL", "internal error")),
      );
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(errorJson("ROUTE_NOT_FOUND", "only GET /metrics"));
  });
}

function errorJson(code: string, message: string): string {
  return JSON.stringify(errorBody(code, message));
}

// Prometheus metrics on a registry of the app's own (not prom-client's global one), so several
// apps in one process (tests) never collide. Served at GET /metrics without auth, like /healthz.
import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { Type } from "typebox";

export interface Metrics {
  registry: Registry;
  requests: Histogram<"method" | "route" | "status">;
  uploadedBytes: Counter<"bucket">;
  storageUnavailable: Counter;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP requests by route template and status",
      labelNames: ["method", "route", "status"],
      // Uploads take seconds to minutes; presigns and health checks milliseconds.
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [registry],
    }),
    uploadedBytes: new Counter({
      name: "storage_uploaded_bytes_total",
      help: "Bytes stored through the API",
      labelNames: ["bucket"],
      registers: [registry],
    }),
    storageUnavailable: new Counter({
      name: "storage_unavailable_total",
      help: "Requests answered 503 because MinIO was unreachable",
      registers: [registry],
    }),
  };
}

export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook("onResponse", async (request, reply) => {
    // The route template, not the URL: ids in URLs would make the label set unbounded.
    const route = request.routeOptions.url ?? "unmatched";
    metrics.requests.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (reply.statusCode === 503) metrics.storageUnavailable.inc();
  });

  app.get(
    "/metrics",
    {
      schema: {
        summary: "Prometheus metrics",
        tags: ["operations"],
        produces: ["text/plain"],
        response: { 200: Type.String({ description: "Prometheus text exposition format" }) },
      },
    },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
}

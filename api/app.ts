// The service as a Fastify instance, without a listening socket: tests build it and call it with
// `inject`; server.ts builds it and listens. Everything it needs comes in through `AppOptions`.
import { randomUUID } from "node:crypto";
import multipart from "@fastify/multipart";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { bearerAuth, requireScope } from "./auth";
import type { Config } from "./config";
import type { ServiceContext } from "./context";
import { ApiError, clientErrorHandler, frameworkErrors, registerErrorHandling } from "./errors";
import { KEY_QUERY_PARAMS, loggerOptions } from "./logging";
import { createMetrics, type Metrics, observeRequests } from "./metrics";
import { registerOpenApi, registerOpenApiRoute } from "./openapi";
import { executionRoutes } from "./routes/executions";
import { healthRoutes } from "./routes/health";
import { objectRoutes } from "./routes/objects";
import { presignRoutes } from "./routes/presign";
import { uploadRoutes } from "./routes/uploads";
import { createStorage } from "./storage";
import { shedUploadsBeyond } from "./upload-slots";

declare module "fastify" {
  interface FastifyInstance {
    /** The app's metrics; server.ts serves their registry on METRICS_PORT. */
    metrics: Metrics;
  }
}

export const API_VERSION = "1.0.0";

export interface AppOptions {
  config: Config;
  /** pino options, or false for no logs (tests). Default: `loggerOptions` at the configured level. */
  logger?: FastifyServerOptions["logger"];
  now?: () => Date;
  newId?: () => string;
  /** Passed to Fastify: server.ts sets socket timeouts and shutdown behaviour here. */
  server?: Pick<
    FastifyServerOptions,
    "connectionTimeout" | "keepAliveTimeout" | "requestTimeout" | "return503OnClosing"
  >;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config.logLevel),
    // Errors of the HTTP parser (431 for oversized headers...) in our error shape too.
    clientErrorHandler,
    bodyLimit: 64 * 1024, // JSON bodies are small (presign requests); files go through multipart
    // Execution ids are up to 128 characters: longer ones must reach validation (400), not the router.
    routerOptions: { maxParamLength: 256 },
    frameworkErrors,
    ...options.server,
    ajv: { customOptions: { coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const storage = createStorage(config);
  const metrics = createMetrics();
  const ctx: ServiceContext = {
    config,
    storage,
    metrics,
    now: options.now ?? (() => new Date()),
    newId: options.newId ?? randomUUID,
  };
  app.addHook("onClose", async () => storage.close());

  app.decorate("metrics", metrics);
  registerErrorHandling(app, metrics);
  await registerOpenApi(app, API_VERSION);
  // Stream mode only (no attachFieldsToBody): parts are read as they arrive. Limits are per route.
  // preservePath: busboy would otherwise cut names at the last slash itself; we want the name as sent,
  // to refuse `..` outright and to keep the original in metadata.
  await app.register(multipart, {
    preservePath: true,
    limits: { fileSize: config.limits.maxUploadBytes, files: 1, parts: 10 },
  });
  observeRequests(app, metrics);

  await app.register(healthRoutes, { ctx });
  // Everything else needs an API key.
  await app.register(async (secured) => {
    const authenticate = bearerAuth(config.apiKeys);
    secured.addHook("onRequest", async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      if (KEY_QUERY_PARAMS.some((name) => name in query)) {
        throw new ApiError(401, "UNAUTHENTICATED", "send the API key in the Authorization header, never in the URL", {
          "www-authenticate": "Bearer",
        });
      }
      authenticate(request);
      // Fastify's own lines (e.g. "request completed") are written through the reply's logger.
      reply.log = request.log;
      const scope = request.routeOptions.config.scope;
      if (scope) requireScope(request, scope);
    });
    shedUploadsBeyond(secured, config.limits.maxConcurrentUploads, metrics);
    registerOpenApiRoute(secured);
    await secured.register(uploadRoutes, { ctx });
    await secured.register(presignRoutes, { ctx });
    await secured.register(objectRoutes, { ctx });
    await secured.register(executionRoutes, { ctx });
  });
  return app;
}

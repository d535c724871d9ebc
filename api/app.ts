// The service as a Fastify instance, without a listening socket: tests build it and call it with
// `inject`; server.ts builds it and listens. Everything it needs comes in through `AppOptions`.
import { randomUUID } from "node:crypto";
import cors from "@fastify/cors";
import multipart from "@fastify/multipart";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Ajv from "ajv";
import Fastify, { type FastifyInstance, type FastifySchemaCompiler, type FastifyServerOptions } from "fastify";
import { SOCKET_IDLE_TIMEOUT_MS } from "../rules/api-settings";
import { bearerAuth, requireScope } from "./auth";
import type { Config } from "./config";
import type { ServiceContext } from "./context";
import { apiError, clientErrorHandler, frameworkErrors, registerErrorHandling, schemaErrorFormatter } from "./errors";
import { KEY_QUERY_PARAMS, loggerOptions } from "./logging";
import { createMetrics, type Metrics, observeRequests } from "./metrics";
import { registerOpenApi, registerOpenApiRoute } from "./openapi";
import { executionRoutes } from "./routes/executions";
import { healthRoutes } from "./routes/health";
import { objectRoutes } from "./routes/objects";
import { presignRoutes } from "./routes/presign";
import { uploadPageRoutes } from "./routes/upload-page";
import { MAX_SESSION_ID_LENGTH, uploadSessionRoutes } from "./routes/upload-sessions";
import { uploadRoutes } from "./routes/uploads";
import { type SessionJanitor, startSessionJanitor } from "./session-janitor";
import { createStorage } from "./storage";
import { shedUploadsBeyond } from "./upload-slots";

declare module "fastify" {
  interface FastifyInstance {
    /** The app's metrics; server.ts serves their registry on METRICS_PORT. */
    metrics: Metrics;
    /** Aborts abandoned upload sessions (on a timer; tests call `sweep`). */
    sessionJanitor: SessionJanitor;
  }
}

export const API_VERSION = "1.0.0";

/** The process's socket timeouts and shutdown behaviour (server.ts); tests check the server gets them. */
export const SERVER_OPTIONS = {
  // A slow client may not hold a socket open forever before sending its headers...
  connectionTimeout: SOCKET_IDLE_TIMEOUT_MS,
  // ...but an upload of MAX_UPLOAD_BYTES over a slow link may take minutes.
  requestTimeout: 15 * 60_000,
  // Above typical load-balancer idle timeouts (60 s), so they close first, never us mid-request.
  keepAliveTimeout: 65_000,
  // While draining, a request that still arrives on an open keep-alive connection is served (and
  // told `Connection: close`) instead of getting Fastify's own 503 body, which is not in our shape.
  return503OnClosing: false,
} as const;

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

/**
 * Request validation: path parameters and query strings arrive as text and are coerced to the
 * schema's types (`?expires_in=60`); JSON bodies are not, so `"filename": false` is refused, as the
 * document says, instead of becoming the name "false".
 */
function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const options = { useDefaults: true, removeAdditional: false, allErrors: false } as const;
  const coercing = new Ajv({ ...options, coerceTypes: "array" });
  // Every failure of a body (at most 64 KiB): the error formatter picks the variant that applies.
  const strict = new Ajv({ ...options, coerceTypes: false, allErrors: true });
  return ({ schema, httpPart }) => (httpPart === "body" ? strict : coercing).compile(schema as object);
}

/**
 * A known path asked with a method it does not have is 405 with `Allow`, not 404: routes are
 * recorded as they are added, and a request no route took is matched against their paths.
 */
function answerUnknownMethods(app: FastifyInstance): void {
  const routes: { method: string; path: RegExp }[] = [];
  app.addHook("onRoute", (route) => {
    const path = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:\w+/g, "[^/]+")}$`);
    for (const method of [route.method].flat()) routes.push({ method, path });
  });
  app.addHook("onRequest", async (request) => {
    if (!request.is404) return;
    const path = request.url.split("?")[0] ?? "";
    const allowed = [...new Set(routes.filter((r) => r.path.test(path)).map((r) => r.method))];
    if (allowed.length === 0) return;
    throw apiError("METHOD_NOT_ALLOWED", `${request.method} is not allowed on ${path}`, {
      allow: allowed.join(", "),
    });
  });
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config.logLevel),
    // Errors of the HTTP parser (431 for oversized headers...) in our error shape too.
    clientErrorHandler,
    bodyLimit: 64 * 1024, // JSON bodies are small (presign requests); files go through multipart
    // Execution ids (128) and upload session ids are limited by their schemas: longer ones must
    // reach validation (400), not the router (404).
    // A percent-encoded 4-byte character takes 12: the limit is on the raw segment.
    routerOptions: { maxParamLength: 12 * MAX_SESSION_ID_LENGTH + 16 },
    frameworkErrors,
    // Limits live in the schemas (so the document states them); failures keep their own codes.
    schemaErrorFormatter,
    // The document lists GET only; a HEAD Fastify added on its own would be an undocumented method.
    exposeHeadRoutes: false,
    ...options.server,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler());

  const storage = createStorage(config, app.log);
  const metrics = createMetrics();
  const ctx: ServiceContext = {
    config,
    storage,
    metrics,
    now: options.now ?? (() => new Date()),
    newId: options.newId ?? randomUUID,
  };
  const janitor = startSessionJanitor(ctx, app.log);
  app.addHook("onClose", async () => {
    janitor.stop();
    storage.close();
  });
  app.decorate("sessionJanitor", janitor);

  app.decorate("metrics", metrics);
  registerErrorHandling(app, metrics);
  answerUnknownMethods(app);
  await registerOpenApi(app, API_VERSION);
  // Stream mode only (no attachFieldsToBody): parts are read as they arrive. Limits are per route.
  // preservePath: busboy would otherwise cut names at the last slash itself; we want the name as sent,
  // to refuse `..` outright and to keep the original in metadata.
  await app.register(multipart, {
    preservePath: true,
    limits: { fileSize: config.limits.maxUploadBytes, files: 1, parts: 10 },
  });
  observeRequests(app, metrics);
  // Browsers on the configured origins may call the API (the upload page's sessions, presigns...);
  // the key travels in Authorization, so no cookies: credentials stay off.
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins,
      methods: ["GET", "POST", "DELETE"],
      allowedHeaders: ["Authorization", "Content-Type"],
      maxAge: 600,
    });
  }

  await app.register(healthRoutes, { ctx });
  if (config.uploadPage) await app.register(uploadPageRoutes);
  // Everything else needs an API key.
  await app.register(async (secured) => {
    const authenticate = bearerAuth(config.apiKeys);
    secured.addHook("onRequest", async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      if (KEY_QUERY_PARAMS.some((name) => name in query)) {
        throw apiError("UNAUTHENTICATED", "send the API key in the Authorization header, never in the URL", {
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
    await secured.register(uploadSessionRoutes, { ctx });
    await secured.register(objectRoutes, { ctx });
    await secured.register(executionRoutes, { ctx });
  });
  return app;
}

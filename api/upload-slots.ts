// Load shedding: one process streams at most MAX_CONCURRENT_UPLOADS uploads at once. Part buffers
// have a budget of their own (part-buffers.ts); the cap bounds the rest (connections, parsers,
// waiting uploads). Beyond it a request is answered 503 with Retry-After before its body is read,
// instead of every upload in flight dying with the pod when it passes its memory limit.
import type { FastifyInstance } from "fastify";
import { tooBusy } from "./errors";
import type { Metrics } from "./metrics";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route streams uploaded files into MinIO: it takes an upload slot. */
    streamsFiles?: boolean;
  }
}

/**
 * Adds the slot check to every route of `app` marked `streamsFiles`. Register it after
 * authentication, so a client without a key gets its 401, not a 503.
 */
export function shedUploadsBeyond(app: FastifyInstance, max: number, metrics: Metrics): void {
  let inFlight = 0;
  app.addHook("onRequest", async (request, reply) => {
    if (!request.routeOptions.config.streamsFiles) return;
    if (inFlight >= max) {
      metrics.uploadsShed.inc();
      throw tooBusy(`this instance is already receiving ${max} uploads`);
    }
    inFlight += 1;
    metrics.uploadsInFlight.set(inFlight);
    // "close" fires once the answer is sent or the connection is gone, whichever comes first.
    reply.raw.once("close", () => {
      inFlight -= 1;
      metrics.uploadsInFlight.set(inFlight);
    });
  });
}

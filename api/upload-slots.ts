// Load shedding: one process streams at most MAX_CONCURRENT_UPLOADS uploads at once. Each holds up
// to `uploadBufferBytes` of memory, so the cap bounds the pod's memory; beyond it a request is
// answered 503 with Retry-After before its body is read, instead of every upload in flight dying
// with the pod when it passes its memory limit.
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
      throw tooBusy(max);
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

// The process: read the configuration (exit 1 naming the bad variable), listen, and on SIGTERM or
// SIGINT stop accepting connections and let in-flight requests, uploads included, finish before
// exiting. Kubernetes sends SIGTERM and waits terminationGracePeriodSeconds; we give up a little
// earlier (SHUTDOWN_GRACE_MS) so the exit is ours, not a SIGKILL.
import { once } from "node:events";
// How long in-flight requests get after SIGTERM; the pod's grace period is derived from it.
import { SHUTDOWN_GRACE_MS } from "../rules/api-settings";
import { buildApp, SERVER_OPTIONS } from "./app";
import { ConfigError, loadConfig } from "./config";
import { metricsServer } from "./metrics";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }

  const app = await buildApp({
    config,
    server: SERVER_OPTIONS,
  });

  // Metrics on a port of their own: the Service and Ingress clients use never reach them.
  const metrics = metricsServer(app.metrics.registry);

  let closing = false;
  // Requests that finish while we drain tell their client to drop the connection; otherwise an idle
  // keep-alive socket would hold close() until the client's own idle timeout.
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, "shutting down: draining in-flight requests");
    const force = setTimeout(() => {
      app.log.error("in-flight requests did not finish in time; exiting");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    // close() stops listening, closes idle keep-alive sockets and resolves once every in-flight
    // request has been answered (and its socket closed), then runs onClose hooks (MinIO sockets).
    metrics.close();
    app.close().then(
      () => {
        app.log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        app.log.error({ err }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  await once(metrics.listen(config.metricsPort, config.host), "listening");
  await app.listen({ port: config.port, host: config.host });
  app.log.info({ metricsPort: (metrics.address() as { port: number }).port }, "metrics listening");
}

main().catch((err: unknown) => {
  console.error("fatal:", err);
  process.exit(1);
});

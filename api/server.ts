// The process: read the configuration (exit 1 naming the bad variable), listen, and on SIGTERM or
// SIGINT stop accepting connections and let in-flight requests, uploads included, finish before
// exiting (close-with-grace). Kubernetes sends SIGTERM and waits terminationGracePeriodSeconds; we
// give up earlier (SHUTDOWN_GRACE_MS, from which the pod's grace period is derived) so the exit is
// ours, not a SIGKILL.
import { once } from "node:events";
import closeWithGrace from "close-with-grace";
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
  // On SIGTERM or SIGINT (or an uncaught error): stop listening, let in-flight requests, uploads
  // included, finish, then exit 0; exit 1 after SHUTDOWN_GRACE_MS or on a second signal.
  closeWithGrace({ delay: SHUTDOWN_GRACE_MS, logger: app.log }, async ({ signal, err }) => {
    closing = true;
    if (err) app.log.error({ err }, "stopping after an error");
    app.log.info({ signal }, "shutting down: draining in-flight requests");
    metrics.close();
    // close() stops listening, closes idle keep-alive sockets and resolves once every in-flight
    // request has been answered (and its socket closed), then runs onClose hooks (MinIO sockets).
    await app.close();
    app.log.info("stopped");
  });

  await once(metrics.listen(config.metricsPort, config.host), "listening");
  await app.listen({ port: config.port, host: config.host });
  app.log.info({ metricsPort: (metrics.address() as { port: number }).port }, "metrics listening");
}

main().catch((err: unknown) => {
  console.error("fatal:", err);
  process.exit(1);
});

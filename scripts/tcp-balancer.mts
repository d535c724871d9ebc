// A Service for the distributed MinIO on loopback: one address that spreads connections over the
// cluster's processes in turn and, when one refuses (a node that is down), tries the next, as a
// Kubernetes Service stops routing to a pod that is gone. Clients then see the cluster, not a node:
// a node's loss is MinIO's erasure coding to absorb, not a dead endpoint.
import { connect, createServer, type Socket } from "node:net";

export interface TcpBalancer {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export interface Backend {
  host: string;
  port: number;
}

export async function startTcpBalancer(backends: Backend[], port = 0): Promise<TcpBalancer> {
  if (backends.length === 0) throw new Error("a balancer needs at least one backend");
  let next = 0;
  const open = new Set<Socket>();
  const server = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.once("close", () => open.delete(client));
    client.on("error", () => undefined);
    const first = next++ % backends.length;
    const attempt = (tried: number) => {
      if (client.destroyed) return;
      const backend = backends[(first + tried) % backends.length] as Backend;
      const upstream = connect(backend.port, backend.host);
      let connected = false;
      open.add(upstream);
      upstream.once("close", () => open.delete(upstream));
      upstream.once("error", (err: NodeJS.ErrnoException) => {
        // Refused before any byte went through: the next backend gets the connection.
        if (!connected && err.code === "ECONNREFUSED" && tried + 1 < backends.length) attempt(tried + 1);
        else client.destroy();
      });
      upstream.once("connect", () => {
        connected = true;
        client.pipe(upstream);
        upstream.pipe(client);
        client.once("close", () => upstream.destroy());
        upstream.once("close", () => client.destroy());
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

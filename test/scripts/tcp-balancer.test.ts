// The loopback Service in front of the distributed MinIO: connections go to the backends in turn,
// one that refuses is skipped, and with none left the client's connection is closed, not held.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/local-minio.mts";
import { startTcpBalancer, type TcpBalancer } from "../../scripts/tcp-balancer.mts";

const servers: Server[] = [];
let ports: number[] = [];
let balancer: TcpBalancer;

async function backend(name: string): Promise<number> {
  const server = createServer((_req, res) => res.end(name));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

/** One request on a fresh connection: which backend answered, or the client's error code. */
async function ask(): Promise<string> {
  const res = await fetch(balancer.endpoint, { headers: { connection: "close" } }).catch(
    (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
  );
  return typeof res === "string" ? res : res.text();
}

beforeAll(async () => {
  ports = [await backend("a"), await backend("b"), await freePort()];
  balancer = await startTcpBalancer(ports.map((port) => ({ host: "127.0.0.1", port })));
});
afterAll(async () => {
  await balancer?.close();
  for (const server of servers) server.close();
});

describe("tcp balancer", () => {
  it("spreads connections over the backends and skips one that refuses", async () => {
    const answers: string[] = [];
    for (let i = 0; i < 9; i++) answers.push(await ask());
    expect(new Set(answers)).toEqual(new Set(["a", "b"]));
    expect(answers.filter((a) => a === "a").length).toBeGreaterThanOrEqual(3);
  });

  it("closes the client's connection when no backend takes it", async () => {
    await new Promise<void>((resolve) => (servers[0] as Server).close(() => resolve()));
    await new Promise<void>((resolve) => (servers[1] as Server).close(() => resolve()));
    (servers[0] as Server).closeAllConnections();
    (servers[1] as Server).closeAllConnections();
    const started = Date.now();
    expect(await ask()).not.toMatch(/^[ab]$/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

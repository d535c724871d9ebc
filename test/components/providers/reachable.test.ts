import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { waitUntilReachable } from "../../../components/providers/reachable";
import { freePort } from "../../../scripts/local-minio.mts";

describe("waitUntilReachable", () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it("waits while nothing listens, then while the cluster is not healthy, and resolves on its 200", async () => {
    const port = await freePort();
    setTimeout(() => {
      let asked = 0;
      // Up, but without write quorum for the first two answers.
      server = createServer((req, res) => {
        asked += 1;
        res.writeHead(req.url === "/minio/health/cluster" && asked > 2 ? 200 : 503).end();
      }).listen(port, "127.0.0.1");
    }, 2500);
    const started = Date.now();
    await waitUntilReachable(`http://127.0.0.1:${port}`, {
      log: () => undefined,
      what: "minioManagementEndpoint",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    expect(((server as Server).address() as AddressInfo).port).toBe(port);
  });

  it("gives up at its deadline, naming the endpoint, its key and the last error", async () => {
    const port = await freePort();
    await expect(
      waitUntilReachable(`http://127.0.0.1:${port}`, {
        timeoutMs: 1500,
        log: () => undefined,
        what: "coldManagementEndpoint",
      }),
    ).rejects.toThrow(
      new RegExp(
        `coldManagementEndpoint \\(http://127.0.0.1:${port}\\) did not answer within 2 s \\(last: ECONNREFUSED\\)`,
      ),
    );
  });
});

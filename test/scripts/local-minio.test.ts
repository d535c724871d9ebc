import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  environmentStatus,
  restartServer,
  shellExports,
  startEnvironment,
  stopServer,
} from "../../scripts/local-minio.mts";
import { isAlive } from "../../scripts/processes.mts";
import { clientFor, readAll, startTestMinio, type TestMinio } from "../helpers/minio";
import { waitFor } from "../helpers/wait";

describe("local MinIO environment: hot and cold", () => {
  let env: TestMinio;
  beforeAll(async () => {
    env = await startTestMinio();
  });
  afterAll(async () => env?.stop());

  it("starts two servers on loopback with their own ports and random credentials", () => {
    const [hot, cold] = env.servers;
    expect(hot?.name).toBe("hot");
    expect(cold?.name).toBe("cold");
    expect(hot?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(hot?.port).not.toBe(cold?.port);
    expect(hot?.secretKey).not.toBe(cold?.secretKey);
    expect(hot?.secretKey.length).toBeGreaterThanOrEqual(32);
    // The credentials file is readable by its owner only.
    for (const server of env.servers) {
      expect(statSync(join(env.dir, server.name, "server.json")).mode & 0o777, server.name).toBe(0o600);
    }
  });

  it("serves a put and a get through the minio client", async () => {
    const client = env.client("hot");
    await client.makeBucket("roundtrip");
    await client.putObject("roundtrip", "hello.txt", Buffer.from("hello, hot tier"));
    const body = await readAll(await client.getObject("roundtrip", "hello.txt"));
    expect(body.toString()).toBe("hello, hot tier");
  });

  it("start is idempotent: a second start returns the running servers", async () => {
    const again = await startEnvironment({ dir: env.dir });
    expect(again.map((s) => s.pid)).toEqual(env.servers.map((s) => s.pid));
  });

  it("prints shell exports with the endpoints and credentials", () => {
    const exports = shellExports(env.servers);
    expect(exports).toContain(`export WSS_HOT_ENDPOINT='${env.server("hot").endpoint}'`);
    expect(exports).toContain(`export WSS_COLD_SECRET_KEY='${env.server("cold").secretKey}'`);
  });

  it("stops cleanly: no process left, no pid file, and a second stop is harmless", async () => {
    const pids = env.servers.map((s) => s.pid);
    await stopServer(env.dir, "hot");
    await stopServer(env.dir, "cold");
    await stopServer(env.dir, "cold");
    expect(pids.filter(isAlive)).toEqual([]);
    expect(existsSync(join(env.dir, "hot", "server.pid"))).toBe(false);
    expect(environmentStatus({ dir: env.dir }).every((s) => s.pid === 0)).toBe(true);
  });
});

describe("local MinIO environment: distributed (4 processes, erasure coded)", () => {
  let env: TestMinio;
  beforeAll(async () => {
    env = await startTestMinio({ distributed: true });
  });
  afterAll(async () => env?.stop());

  it("forms one cluster: an object written through one process is read through another", async () => {
    expect(env.servers.map((s) => s.name)).toEqual(["node1", "node2", "node3", "node4", "cold"]);
    await env.client("node1").makeBucket("cluster");
    await env.client("node1").putObject("cluster", "a.txt", Buffer.from("written via node1"));
    const body = await readAll(await env.client("node4").getObject("cluster", "a.txt"));
    expect(body.toString()).toBe("written via node1");
  });

  it("has a standalone cold server beside the cluster, with root credentials of its own", async () => {
    const cold = env.server("cold");
    expect(cold.accessKey).not.toBe(env.server("node1").accessKey);
    await env.client("cold").makeBucket("tier");
    expect((await env.client("node1").listBuckets()).map((b) => b.name)).not.toContain("tier");
  });

  it("accepts writes and serves reads with one of its four processes stopped", async () => {
    await stopServer(env.dir, "node3");
    const client = clientFor(env.server("node1"));
    const payload = Buffer.alloc(3 * 1024 * 1024, 7);
    // Until the others mark the stopped node offline, a write can be answered 503 (RELIABILITY.md
    // counts these as refused under "one node killed"); it is then accepted without it.
    await waitFor("a write to be accepted without node3", () =>
      client.putObject("cluster", "after-node-loss.bin", payload).then(
        () => true,
        (err: Error) => (/503/.test(err.message) ? undefined : Promise.reject(err)),
      ),
    );
    const body = await readAll(await clientFor(env.server("node2")).getObject("cluster", "after-node-loss.bin"));
    expect(body.equals(payload)).toBe(true);
    const earlier = await readAll(await client.getObject("cluster", "a.txt"));
    expect(earlier.toString()).toBe("written via node1");
  });

  it("starts a killed node again as it was: it rejoins and serves what was written without it", async () => {
    // node3, stopped above, comes back first: with two down the cluster would be below write quorum.
    await restartServer({ dir: env.dir, distributed: true }, "node3");
    await stopServer(env.dir, "node2", 0);
    await env.client("node1").putObject("cluster", "while-node2-was-down.txt", Buffer.from("written without node2"));
    const node2 = await restartServer({ dir: env.dir, distributed: true }, "node2");
    expect(node2.port).toBe(env.server("node2").port);
    // MinIO's own behaviour, measured by `npm run faults` (RELIABILITY.md): a node that just came back
    // may answer NoSuchKey for what was written without it for some seconds, health checks all 200.
    const body = await waitFor("node2 to serve the object written without it", () =>
      clientFor(node2)
        .getObject("cluster", "while-node2-was-down.txt")
        .then(readAll, () => undefined),
    );
    expect(body.toString()).toBe("written without node2");
  });
});

// The shipped artefact: the esbuild bundle, run as a process the way the container runs it.
// Configuration errors name the variable; SIGTERM drains an in-flight upload before exiting.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BundleReport, buildBundle, CONFIGMAP_LIMIT_BYTES } from "../../api/build.mts";
import { auth, BOUNDARY, envFor, type Harness, listKeys, startHarness, waitFor } from "./support";

let h: Harness;
let outDir: string;
let bundle: BundleReport;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "wss-api-bundle-"));
  [h, bundle] = await Promise.all([startHarness(), buildBundle(outDir)]);
});
afterAll(async () => {
  await h?.close();
  rmSync(outDir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(env: NodeJS.ProcessEnv): Running {
  // Only what the bundle needs: it must not depend on node_modules or the project's environment.
  const child = spawn(process.execPath, [bundle.file], { env: { PATH: process.env.PATH, ...env }, cwd: outDir });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe("the bundle", () => {
  it("is one self-contained file, minified; its gzipped form fits a ConfigMap", () => {
    expect(existsSync(bundle.file)).toBe(true);
    expect(bundle.rawBytes).toBeGreaterThan(100_000);
    expect(bundle.gzipBytes).toBeLessThan(bundle.rawBytes / 2);
    expect(bundle.gzipFitsConfigMap).toBe(true);
    expect(bundle.fitsConfigMap).toBe(bundle.rawBytes <= CONFIGMAP_LIMIT_BYTES);
  });

  it("exits 1 with a message naming the missing or bad variable", async () => {
    const env = envFor(h.minio.server("hot"));
    const missing = run({ ...env, MINIO_ENDPOINT: "" });
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain("configuration error: MINIO_ENDPOINT: is required");
    const bad = run({ ...env, PRESIGN_DEFAULT_SECONDS: "7200" });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain("PRESIGN_MAX_SECONDS");
  });

  it("serves, and on SIGTERM finishes an in-flight upload before exiting 0", async () => {
    const port = await freePort();
    const server = run({ ...envFor(h.minio.server("hot")), PORT: String(port), HOST: "127.0.0.1" });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor("the bundle to listen", async () => {
        const res = await fetch(`${base}/readyz`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      });

      // An upload the slow way: headers and half the body now, the rest after SIGTERM.
      const req = request(`${base}/v1/uploads`, {
        method: "POST",
        headers: {
          ...auth,
          "content-type": `multipart/form-data; boundary=${BOUNDARY}`,
          "transfer-encoding": "chunked",
        },
      });
      const response = new Promise<{ status: number; body: string; connection?: string }>((resolve, reject) => {
        req.on("response", (res) => {
          let body = "";
          res.on("data", (d) => {
            body += d;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
        });
        req.on("error", reject);
      });
      req.write(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="drained.txt"\r\n` +
          "Content-Type: text/plain\r\n\r\nfirst half, ",
      );
      await waitFor("the request to reach the handler", async () =>
        server.output().includes('"url":"/v1/uploads"') ? true : undefined,
      );

      server.child.kill("SIGTERM");
      await waitFor("shutdown to begin", async () => (server.output().includes("shutting down") ? true : undefined));
      // No new connections once draining (the listening socket closes a few ticks after the signal)...
      await waitFor("the listening socket to close", async () =>
        fetch(`${base}/healthz`).then(
          () => undefined,
          () => true,
        ),
      );
      // ...but the upload in flight completes.
      req.end(`second half\r\n--${BOUNDARY}--\r\n`);
      const { status, body, connection } = await response;
      expect(status, body).toBe(201);
      expect(connection).toBe("close");
      const key = JSON.parse(body).file_path;
      expect(await listKeys(h.client, h.config.buckets.uploads, key)).toEqual([key]);
      expect(await server.exited).toBe(0);
      expect(server.output()).toContain("stopped");
    } finally {
      server.child.kill("SIGKILL");
    }
  });
});

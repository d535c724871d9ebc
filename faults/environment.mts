// What the fault suite breaks, set up as deployed: a hot MinIO of four erasure-coded processes behind
// one loopback address (scripts/tcp-balancer.mts, the Service), a cold MinIO, the program deployed
// onto them by the real engine (buckets, the API's least-privilege user, the tier, lifecycle rules
// that make large objects due for the cold tier at once), and the API from its bundle with the
// stack's outputs. Everything lives in one temporary folder and on free loopback ports.
import { randomBytes } from "node:crypto";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type * as Minio from "minio";
import { buildBundle } from "../api/build.mts";
import { minioClient } from "../components/providers/minio-connection.ts";
import { externalTargetConfigMap } from "../scripts/external-target.mts";
import { type ApiProcess, startApiProcess } from "../scripts/harness/api-process.mts";
import { createEphemeralStack, type EphemeralStack } from "../scripts/harness/ephemeral-stack.mts";
import {
  type EnvironmentOptions,
  freePort,
  type MinioServerInfo,
  restartServer,
  startEnvironment,
  stopEnvironment,
  stopServer,
} from "../scripts/local-minio.mts";
import { apiEnvironmentFromOutputs, exampleApiKey, type StackOutputs } from "../scripts/local-stack.mts";
import { stopProcess } from "../scripts/processes.mts";
import { startTcpBalancer, type TcpBalancer } from "../scripts/tcp-balancer.mts";

const root = resolve(import.meta.dirname, "..");
const MiB = 1024 * 1024;

/** Objects at least this large are due for the cold tier as soon as they are written (a 0-day rule). */
export const COLD_MIN_BYTES = 1 * MiB;

export interface FaultEnvironment {
  /** The hot cluster's processes, node1..node4. */
  nodes: string[];
  /** The hot MinIO as its clients reach it (the balancer). */
  hotEndpoint: string;
  /** Root clients, to set up and to inspect only: the API runs as the stack's own user. */
  hotRoot: Minio.Client;
  coldRoot: Minio.Client;
  outputs: StackOutputs;
  /** A bearer key with every scope the load uses. */
  apiKey: string;
  /** The API process now running (replaced by `restartApi`). */
  api: ApiProcess;
  /** Stops MinIO servers by name: SIGTERM, then SIGKILL after `graceMs`; at once (a crash) when 0. */
  stopServers(names: string[], graceMs?: number): Promise<void>;
  /** Starts stopped MinIO servers again, as they were; resolves when each answers ready. */
  startServers(names: string[]): Promise<void>;
  /** The API's log lines so far (JSON, level warn and above). */
  apiLog(): string[];
  /** Starts the API again from the same bundle and settings (after it exited); resolves when ready. */
  restartApi(): Promise<ApiProcess>;
  close(): Promise<void>;
}

export async function startFaultEnvironment(log: (message: string) => void): Promise<FaultEnvironment> {
  const dir = mkdtempSync(join(tmpdir(), "wss-faults-"));
  const minio: EnvironmentOptions = {
    dir: join(dir, "minio"),
    distributed: true,
    basePort: 0,
    // Transitions that fail (cold tier down) are tried again by the scanner: as fast as it goes.
    serverEnv: { MINIO_SCANNER_SPEED: "fastest" },
  };
  let balancer: TcpBalancer | undefined;
  let eph: EphemeralStack | undefined;
  let api: ApiProcess | undefined;
  const close = async () => {
    if (api) await stopProcess(api.child.pid ?? 0, 5000);
    // Everything the stack made lives and dies with this run's MinIO: forgotten, not destroyed.
    await eph?.forget();
    await balancer?.close();
    await stopEnvironment({ ...minio, purge: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    log("MinIO: four erasure-coded hot processes behind one loopback address, and a cold server");
    const servers = await startEnvironment(minio);
    const nodes = servers.filter((s) => s.name.startsWith("node"));
    const cold = servers.find((s) => s.name === "cold") as MinioServerInfo;
    balancer = await startTcpBalancer(nodes.map((n) => ({ host: "127.0.0.1", port: n.port })));
    const hot = {
      endpoint: balancer.endpoint,
      accessKey: nodes[0]?.accessKey ?? "",
      secretKey: nodes[0]?.secretKey ?? "",
    };

    log("the API bundle, and the program deployed onto MinIO by the engine");
    const bundle = await buildBundle(join(dir, "api"));
    const apiPort = await freePort();
    eph = await createEphemeralStack(
      root,
      externalTargetConfigMap(hot, cold, {
        "workflow-studio-storage:ephemeral": { value: "true" },
        "workflow-studio-storage:localApiPort": { value: String(apiPort) },
        "workflow-studio-storage:transitionDays": { value: "0" },
        "workflow-studio-storage:transitionMinSizeBytes": { value: String(COLD_MIN_BYTES) },
        // The SIGTERM fault drains while large uploads are in flight: room for them and the load.
        "workflow-studio-storage:apiMaxConcurrentUploads": { value: "32" },
      }),
    );
    const up = await eph.stack.up();
    const outputs = Object.fromEntries(
      Object.entries(up.outputs).map(([key, output]) => [key, output.value]),
    ) as unknown as StackOutputs;
    const env = { ...apiEnvironmentFromOutputs(outputs), LOG_LEVEL: process.env.WSS_FAULTS_API_LOG_LEVEL ?? "warn" };

    log("the API, from its bundle, as the stack's least-privilege user");
    // Its log (warnings and errors) stays with the run's folder, for a fault that shows something.
    const apiLog = openSync(join(dir, "api.log"), "a");
    const startApi = async () => {
      api = await startApiProcess(bundle.file, env, { port: apiPort, stdout: apiLog });
      return api;
    };
    await startApi();
    return {
      nodes: nodes.map((n) => n.name),
      hotEndpoint: balancer.endpoint,
      hotRoot: minioClient(hot),
      coldRoot: minioClient(cold),
      outputs,
      apiKey: exampleApiKey(outputs),
      get api() {
        return api as ApiProcess;
      },
      stopServers: (list, graceMs) =>
        Promise.all(list.map((name) => stopServer(minio.dir as string, name, graceMs))).then(() => {}),
      startServers: (list) => Promise.all(list.map((name) => restartServer(minio, name))).then(() => {}),
      restartApi: startApi,
      apiLog: () => readFileSync(join(dir, "api.log"), "utf8").split("\n").filter(Boolean),
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/** A fresh name no other request of the run uses: the marker the checks find a request's objects by. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

// Local MinIO environment on loopback: a hot and a cold server (the default), or a four-process
// erasure-coded hot cluster beside a standalone cold server (`--distributed`). Used by newcomers (`npm run minio -- start`), by the local
// Pulumi stack and by every test that needs a real MinIO.
//
// Each server keeps its state under one folder: data/, server.pid, server.log and server.json (endpoint
// and root credentials, mode 0600). A new environment gets an empty data folder and random
// credentials; a restart keeps both, so a stack deployed against it stays in step. `stop --purge`
// forgets everything.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { isAlive, stopProcess } from "./processes.mts";

export interface MinioServerInfo {
  /** Name of the server within its environment: hot, cold, or node1..node4 (with cold). */
  name: string;
  endpoint: string;
  port: number;
  accessKey: string;
  secretKey: string;
  /** The process id, or 0 for a server that is not running. */
  pid: number;
}

export interface EnvironmentOptions {
  /** Folder that holds every server's state. Default: `.local/minio` in the project. */
  dir?: string;
  /** The hot server as four processes forming one erasure-coded cluster (node1..node4); cold stays one. */
  distributed?: boolean;
  /** First port; servers use consecutive ports from it. 0 picks free ports. Default 19000. */
  basePort?: number;
  /** Extra environment for the servers (e.g. MINIO_SCANNER_SPEED). */
  serverEnv?: Record<string, string>;
  /** How long to wait for /minio/health/ready, in milliseconds. Default 60000. */
  readyTimeoutMs?: number;
}

const projectRoot = resolve(import.meta.dirname, "..");
const defaultDir = join(projectRoot, ".local", "minio");

const CLUSTER_NODES = ["node1", "node2", "node3", "node4"];

function serverNames(distributed: boolean): string[] {
  return distributed ? [...CLUSTER_NODES, "cold"] : ["hot", "cold"];
}

/** Whether the server is one of the distributed hot cluster's processes. */
const isClusterNode = (name: string) => CLUSTER_NODES.includes(name);

function stateFile(dir: string, name: string, file: string): string {
  return join(dir, name, file);
}

function readPid(dir: string, name: string): number {
  const file = stateFile(dir, name, "server.pid");
  return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) || 0 : 0;
}

function readInfo(dir: string, name: string): MinioServerInfo | undefined {
  const file = stateFile(dir, name, "server.json");
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, "utf8")) as MinioServerInfo;
  const pid = readPid(dir, name);
  return { ...info, pid: isAlive(pid) ? pid : 0 };
}

/** A free TCP port on loopback (for tests and `--port 0`). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Polls a MinIO health endpoint until it answers 200 or the deadline passes: `ready` for one server,
 * `cluster` for a distributed one (it answers 200 only once the cluster has write quorum).
 */
export async function waitUntilReady(
  endpoint: string,
  timeoutMs = 60_000,
  child?: ChildProcess,
  probe: "ready" | "cluster" = "ready",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`MinIO at ${endpoint} exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${endpoint}/minio/health/${probe}`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`MinIO at ${endpoint} was not ready after ${timeoutMs} ms (${last})`);
}

function credentials(): { accessKey: string; secretKey: string } {
  return {
    accessKey: `wss-${randomBytes(6).toString("hex")}`,
    secretKey: randomBytes(24).toString("base64url"),
  };
}

/** Starts the environment, or returns it as it is when it is already running (idempotent). */
export async function startEnvironment(options: EnvironmentOptions = {}): Promise<MinioServerInfo[]> {
  const dir = resolve(options.dir ?? defaultDir);
  const distributed = options.distributed ?? false;
  const names = serverNames(distributed);
  const existing = names.map((name) => readInfo(dir, name));
  if (existing.every((info) => info && info.pid > 0)) {
    await Promise.all(existing.map((info) => waitUntilReady((info as MinioServerInfo).endpoint, 5000)));
    return existing as MinioServerInfo[];
  }
  // Half-running environments are stopped first, so that every server starts with the same view.
  await stopEnvironment({ dir, distributed });

  const basePort = options.basePort ?? 19000;
  // The cluster's processes share one set of root credentials; the cold server has its own.
  const shared = distributed ? (existing[0] ?? credentials()) : undefined;
  const infos: MinioServerInfo[] = [];
  for (const [i, name] of names.entries()) {
    const previous = existing[i];
    const port = previous?.port ?? (basePort === 0 ? await freePort() : basePort + i);
    const creds = (isClusterNode(name) ? shared : undefined) ?? previous ?? credentials();
    infos.push({
      name,
      endpoint: `http://127.0.0.1:${port}`,
      port,
      accessKey: creds.accessKey,
      secretKey: creds.secretKey,
      pid: 0,
    });
  }

  const children: ChildProcess[] = [];
  for (const info of infos) {
    mkdirSync(join(dir, info.name, "data"), { recursive: true });
    writeFileSync(
      stateFile(dir, info.name, "server.json"),
      `${JSON.stringify({ ...info, pid: undefined }, null, 2)}\n`,
      {
        mode: 0o600,
      },
    );
  }
  for (const info of infos) children.push(launchServer(dir, info, infos, options.serverEnv));
  try {
    await Promise.all(
      infos.map((info, i) =>
        waitUntilReady(
          info.endpoint,
          options.readyTimeoutMs,
          children[i],
          isClusterNode(info.name) ? "cluster" : "ready",
        ),
      ),
    );
  } catch (err) {
    await stopEnvironment({ dir, distributed });
    const logs = infos.map((info) => stateFile(dir, info.name, "server.log")).join(", ");
    throw new Error(`${(err as Error).message}; see ${logs}`);
  }
  return infos;
}

/**
 * Starts one server's process from its saved state (`peers`: the environment's servers, whose cluster
 * nodes make up a cluster node's drive list). Records its pid in `info` and in server.pid.
 */
function launchServer(
  dir: string,
  info: MinioServerInfo,
  peers: MinioServerInfo[],
  serverEnv: Record<string, string> = {},
): ChildProcess {
  // Distributed: every process is given the same list of drives (one per process); MinIO finds its
  // own by matching the address it listens on.
  const clustered = isClusterNode(info.name);
  const drives = clustered
    ? peers
        .filter((peer) => isClusterNode(peer.name))
        .map((peer) => `http://127.0.0.1:${peer.port}${join(dir, peer.name, "data")}`)
    : [join(dir, info.name, "data")];
  const log = openSync(stateFile(dir, info.name, "server.log"), "a");
  const child = spawn("minio", ["server", "--quiet", "--address", `127.0.0.1:${info.port}`, ...drives], {
    detached: true,
    stdio: ["ignore", log, log],
    env: {
      ...process.env,
      MINIO_ROOT_USER: info.accessKey,
      MINIO_ROOT_PASSWORD: info.secretKey,
      MINIO_BROWSER: "off",
      MINIO_UPDATE: "off",
      // MinIO takes a host with /.dockerenv for a container and then waits forever for loopback
      // peers to "resolve to a valid IP". This (MinIO's own, used by its operator) names the
      // process's own endpoint, so the other loopback endpoints are taken as its peers.
      // MINIO_CI_CD lets the cluster's drives sit on the root file system, as they do here.
      ...(clustered ? { _MINIO_SERVER_LOCAL: `127.0.0.1:${info.port}`, MINIO_CI_CD: "on" } : {}),
      ...serverEnv,
    },
  });
  child.once("error", () => undefined);
  child.unref();
  if (!child.pid) throw new Error(`could not start minio for ${info.name}: is the toolchain set up (npm run setup)?`);
  info.pid = child.pid;
  writeFileSync(stateFile(dir, info.name, "server.pid"), `${child.pid}\n`);
  return child;
}

/**
 * Starts one stopped server of a running environment again, as it was (its port, credentials, data
 * and drive list), and waits until it is ready: a cold server once it answers, a cluster node once it
 * sees write quorum (/minio/health/cluster from its own view). The rest is left as it is.
 */
export async function restartServer(
  options: Pick<EnvironmentOptions, "dir" | "distributed" | "serverEnv" | "readyTimeoutMs">,
  name: string,
): Promise<MinioServerInfo> {
  const dir = resolve(options.dir ?? defaultDir);
  const peers = serverNames(options.distributed ?? false).map((peer) => readInfo(dir, peer));
  const info = peers.find((peer) => peer?.name === name);
  if (!info) throw new Error(`no MinIO server named ${name} in ${dir}`);
  if (info.pid > 0) return info;
  const child = launchServer(dir, info, peers as MinioServerInfo[], options.serverEnv);
  await waitUntilReady(info.endpoint, options.readyTimeoutMs, child, isClusterNode(name) ? "cluster" : "ready");
  return info;
}

/** Stops one server: SIGTERM to its process group, SIGKILL after the grace period (at once when 0). */
export async function stopServer(dir: string, name: string, graceMs = 10_000): Promise<void> {
  await stopProcess(readPid(dir, name), graceMs);
  rmSync(stateFile(dir, name, "server.pid"), { force: true });
}

/** Stops every server of the environment (idempotent); `purge` also deletes data and credentials. */
export async function stopEnvironment(
  options: Pick<EnvironmentOptions, "dir" | "distributed"> & { purge?: boolean } = {},
) {
  const dir = resolve(options.dir ?? defaultDir);
  const names = serverNames(options.distributed ?? false);
  await Promise.all(names.map((name) => stopServer(dir, name)));
  if (options.purge) for (const name of names) rmSync(join(dir, name), { recursive: true, force: true });
}

/** The environment as it is now (servers that were never started are left out). */
export function environmentStatus(options: Pick<EnvironmentOptions, "dir" | "distributed"> = {}): MinioServerInfo[] {
  const dir = resolve(options.dir ?? defaultDir);
  return serverNames(options.distributed ?? false)
    .map((name) => readInfo(dir, name))
    .filter((info): info is MinioServerInfo => info !== undefined);
}

/** Shell `export` lines: WSS_HOT_ENDPOINT, WSS_HOT_ACCESS_KEY, WSS_HOT_SECRET_KEY, and so on. */
export function shellExports(infos: MinioServerInfo[]): string {
  const quote = (v: string) => `'${v.replaceAll("'", `'"'"'`)}'`;
  return infos
    .flatMap((info) => {
      const prefix = `WSS_${info.name.toUpperCase()}`;
      return [
        `export ${prefix}_ENDPOINT=${quote(info.endpoint)}`,
        `export ${prefix}_ACCESS_KEY=${quote(info.accessKey)}`,
        `export ${prefix}_SECRET_KEY=${quote(info.secretKey)}`,
      ];
    })
    .join("\n");
}

const usage = `usage: npm run minio -- <start|stop|status|env> [--distributed] [--dir DIR] [--port N] [--purge] [--json]
  start    start the hot and cold servers (or a 4-process hot cluster and cold) and print them
  stop     stop them (--purge also deletes their data and credentials)
  status   print what is running
  env      print shell exports (or JSON with --json) for the running environment`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flag = (name: string) => rest.includes(name);
  const value = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const portText = value("--port");
  const basePort = portText === undefined ? undefined : Number(portText);
  if (basePort !== undefined && !(Number.isInteger(basePort) && basePort >= 0 && basePort < 65530)) {
    console.error(`error: --port must be a port number (0 picks free ports), got "${portText}"`);
    return 2;
  }
  const options: EnvironmentOptions = { dir: value("--dir"), distributed: flag("--distributed"), basePort };
  const print = (infos: MinioServerInfo[]) =>
    console.log(flag("--json") ? JSON.stringify(infos, null, 2) : shellExports(infos));
  switch (command) {
    case "start": {
      const t0 = Date.now();
      console.error(
        `starting ${options.distributed ? "a 4-process distributed hot cluster and cold" : "hot and cold"} MinIO...`,
      );
      const infos = await startEnvironment(options);
      console.error(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      print(infos);
      return 0;
    }
    case "stop":
      await stopEnvironment({ ...options, purge: flag("--purge") });
      console.error(flag("--purge") ? "stopped and purged" : "stopped");
      return 0;
    case "status":
    case "env": {
      const infos = environmentStatus(options);
      if (command === "status") {
        for (const info of infos)
          console.log(`${info.name}\t${info.endpoint}\t${info.pid > 0 ? `running (pid ${info.pid})` : "stopped"}`);
        if (infos.length === 0) console.log("no environment (run: npm run minio -- start)");
      } else print(infos.filter((info) => info.pid > 0));
      return 0;
    }
    default:
      console.error(usage);
      return command ? 2 : 0;
  }
}

if (process.argv[1] === import.meta.filename) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`error: ${err.message}`);
      process.exit(1);
    },
  );
}

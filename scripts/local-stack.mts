// The local stack, on one of two targets:
// - external (the default): the hot and cold MinIO on loopback, `pulumi up` of the `local` stack in
//   a file backend under .local/, and the API as a local process started from the stack's outputs;
// - kubernetes (`--target kubernetes`): the single-node cluster (npm run cluster), `pulumi up` of the
//   `local-kubernetes` stack onto it (distributed MinIO, cold MinIO, the API pods), reached through
//   NodePorts of the node's address.
// Every step is idempotent: a second `up` changes nothing and takes seconds.
//
//   up       start (or keep) everything and print how to use it
//   down     stop the API and MinIO, or the cluster (data, state and credentials are kept)
//   destroy  pulumi destroy, then stop everything and delete what the target keeps under .local/
//   status   what runs
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildBundle } from "../api/build.mts";
import { waitUntilReachable } from "../components/providers/reachable.ts";
import { parseApiKeys } from "../rules/api-keys.ts";
import { clusterStatus, startCluster, stopCluster } from "./cluster/cluster.mts";
import { clusterPaths } from "./cluster/layout.mts";
import { CLUSTER_NODE_PORTS, clusterTargetSettings, type NodePorts, nodePortUrl } from "./cluster-target.mts";
import { externalTargetSettings, type StackSetting } from "./external-target.mts";
import { type MinioServerInfo, startEnvironment, stopEnvironment, waitUntilReady } from "./local-minio.mts";
import { isAlive, stopProcess } from "./processes.mts";

const root = resolve(import.meta.dirname, "..");
// Where the local stack lives and which ports it takes: .local/ and 19000 (MinIO), 18080 (API) unless
// set, so a test (or a second checkout) can run one beside a developer's own.
const local = process.env.WSS_LOCAL_DIR ? resolve(process.env.WSS_LOCAL_DIR) : join(root, ".local");
const minioBasePort = process.env.WSS_LOCAL_MINIO_PORT ? Number(process.env.WSS_LOCAL_MINIO_PORT) : undefined;
const apiPort = process.env.WSS_LOCAL_API_PORT;
type Target = "external" | "kubernetes";
/** `--target kubernetes` anywhere after the command; external otherwise. */
const target: Target =
  process.argv.includes("--target") && process.argv[process.argv.indexOf("--target") + 1] === "kubernetes"
    ? "kubernetes"
    : "external";
const stack = target === "kubernetes" ? "local-kubernetes" : "local";
/** The local stack's config file (settings, salt and MinIO credentials): never committed. */
export const localConfigFile = join(local, "Pulumi.local.yaml");
const configFile = join(local, `Pulumi.${stack}.yaml`);
/** The namespace the local kubernetes stack deploys into (WSS_LOCAL_CLUSTER_NAMESPACE for a second one). */
const CLUSTER_NAMESPACE = process.env.WSS_LOCAL_CLUSTER_NAMESPACE ?? "workflow-studio-storage-local";
/** Its NodePorts (WSS_LOCAL_NODE_PORTS=hot,cold,api for a second stack on the same cluster). */
const nodePorts: NodePorts = (() => {
  const given = process.env.WSS_LOCAL_NODE_PORTS?.split(",").map(Number);
  return given?.length === 3 ? { hot: given[0] ?? 0, cold: given[1] ?? 0, api: given[2] ?? 0 } : CLUSTER_NODE_PORTS;
})();
const apiDir = join(local, "api");
const bundle = join(root, "dist", "api", "server.js");
const t0 = Date.now();

function step(message: string): void {
  console.log(`== ${message} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

/** The environment every Pulumi command of the local stack runs with. */
export function pulumiEnv(): NodeJS.ProcessEnv {
  mkdirSync(join(local, "pulumi-state"), { recursive: true });
  const passphrase = join(local, "pulumi-passphrase");
  if (!existsSync(passphrase)) writeFileSync(passphrase, randomBytes(24).toString("base64url"), { mode: 0o600 });
  return {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${join(local, "pulumi-state")}`,
    PULUMI_CONFIG_PASSPHRASE_FILE: passphrase,
    ...(target === "kubernetes" ? { KUBECONFIG: clusterPaths().kubeconfig } : {}),
  };
}

function pulumi(args: string[], options: { quiet?: boolean } = {}): string {
  // `stack output` reads the state only and takes no --config-file.
  const configArgs = args[0] === "stack" ? [] : ["--config-file", configFile];
  const stackArgs = ["--stack", stack, ...configArgs, "--non-interactive"];
  // Flags go before a `--`: what follows it is a value, even one that starts with "-".
  const end = args.indexOf("--");
  const ordered = end < 0 ? [...args, ...stackArgs] : [...args.slice(0, end), ...stackArgs, ...args.slice(end)];
  return execFileSync("pulumi", ordered, {
    cwd: root,
    env: pulumiEnv(),
    encoding: "utf8",
    stdio: ["ignore", options.quiet ? "pipe" : "inherit", "inherit"],
  });
}

/**
 * The stack's config file lives under .local/ (it gains an encryption salt and the MinIO credentials,
 * neither of which belongs in git); the committed Pulumi.local.yaml holds the settings.
 */
function configureStack(targetSettings: StackSetting[], committedSettings: boolean): void {
  if (!existsSync(configFile)) {
    // `stack init` writes the passphrase salt into Pulumi.<stack>.yaml beside Pulumi.yaml. Run it in
    // a scratch copy of the project so the committed Pulumi.local.yaml stays as it is.
    const scratch = mkdtempSync(join(tmpdir(), "wss-local-stack-"));
    copyFileSync(join(root, "Pulumi.yaml"), join(scratch, "Pulumi.yaml"));
    execFileSync("pulumi", ["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"], {
      cwd: scratch,
      env: pulumiEnv(),
      stdio: ["ignore", "ignore", "inherit"],
    });
    copyFileSync(join(scratch, `Pulumi.${stack}.yaml`), configFile);
    rmSync(scratch, { recursive: true, force: true });
  }
  const committed = committedSettings ? readFileSync(join(root, "Pulumi.local.yaml"), "utf8") : "";
  const settings = [...committed.matchAll(/^ {2}workflow-studio-storage:(\w+): "?([^"\n]*)"?$/gm)].map((m) => [
    m[1] as string,
    m[2] as string,
  ]);
  const values: [string, string, boolean][] = [
    ...settings.map(([k, v]) => [k, v, false] as [string, string, boolean]),
    ...targetSettings.map((s) => [s.key, s.value, s.secret] as [string, string, boolean]),
    ...(apiPort ? [["localApiPort", apiPort, false] as [string, string, boolean]] : []),
  ];
  for (const [key, value, secret] of values) {
    // A generated secret may start with "-": after `--` it is never taken for a flag.
    pulumi(["config", "set", `workflow-studio-storage:${key}`, secret ? "--secret" : "--plaintext", "--", value], {
      quiet: true,
    });
  }
}

export interface StackOutputs {
  apiUrl: string;
  apiSettings: Record<string, string>;
  apiAccessKey: string;
  apiSecretKey: string;
  /** The API_KEYS JSON text (rules/api-keys.ts). */
  apiBearerKeys: string;
  minioPublicEndpoint: string;
  uploadsBucket: string;
  artifactsBucket: string;
  /** The cold tier's name: the storage class of objects that moved there. */
  tierName: string;
}

function stackOutputs(): StackOutputs {
  return JSON.parse(pulumi(["stack", "output", "--json", "--show-secrets"], { quiet: true })) as StackOutputs;
}

function apiPid(): number {
  const file = join(apiDir, "api.pid");
  return existsSync(file) ? Number(readFileSync(file, "utf8")) || 0 : 0;
}

async function stopApi(): Promise<void> {
  await stopProcess(apiPid(), 15_000);
  rmSync(join(apiDir, "api.pid"), { force: true });
}

/** The API process's environment from a stack's outputs: its settings, its own credentials, its keys. */
export function apiEnvironmentFromOutputs(outputs: StackOutputs): Record<string, string> {
  return {
    ...outputs.apiSettings,
    HOST: "127.0.0.1",
    // The local API serves the upload page (resumable browser uploads); deployed ones do not.
    UPLOAD_PAGE: "true",
    MINIO_ACCESS_KEY: outputs.apiAccessKey,
    MINIO_SECRET_KEY: outputs.apiSecretKey,
    API_KEYS: outputs.apiBearerKeys,
  };
}

/**
 * The key for the example upload: apiBearerKeys holds the API_KEYS JSON; the first key that may
 * upload, else the first key.
 */
export function exampleApiKey(outputs: Pick<StackOutputs, "apiBearerKeys">): string {
  const { keys, problems } = parseApiKeys(outputs.apiBearerKeys);
  const chosen = keys.find((k) => k.scopes.includes("upload")) ?? keys[0];
  if (!chosen || problems.length > 0) {
    throw new Error(`the stack's apiBearerKeys output is not valid API_KEYS: ${problems.join("; ")}`);
  }
  return chosen.key;
}

/** Starts the API from the stack's outputs; keeps a running one whose bundle and environment are the same. */
async function startApi(outputs: StackOutputs): Promise<void> {
  mkdirSync(apiDir, { recursive: true });
  const env = apiEnvironmentFromOutputs(outputs);
  const fingerprint = createHash("sha256").update(readFileSync(bundle)).update(JSON.stringify(env)).digest("hex");
  const fingerprintFile = join(apiDir, "fingerprint");
  if (isAlive(apiPid()) && existsSync(fingerprintFile) && readFileSync(fingerprintFile, "utf8") === fingerprint) {
    console.log("   the API is running with this bundle and environment: kept");
    return;
  }
  await stopApi();
  const log = openSync(join(apiDir, "api.log"), "a");
  const child = spawn(process.execPath, [bundle], {
    detached: true,
    stdio: ["ignore", log, log],
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  child.unref();
  writeFileSync(join(apiDir, "api.pid"), String(child.pid));
  writeFileSync(fingerprintFile, fingerprint);
  await waitForReady(outputs.apiUrl, `the API (see ${join(apiDir, "api.log")})`, () => child.exitCode !== null);
}

/** Waits until the API at `url` answers /readyz with 200, or fails naming `what`. */
async function waitForReady(url: string, what: string, gone: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !gone()) {
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    if (ready?.ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not become ready at ${url}`);
}

/** Builds the API bundle when it is missing or older than any file under api/. */
async function ensureBundle(): Promise<void> {
  const newest = (dir: string): number =>
    Math.max(
      ...execFileSync("find", [dir, "-type", "f", "-name", "*.ts"], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean)
        .map((f) => statSync(f).mtimeMs),
    );
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newest(join(root, "api"))) return;
  const report = await buildBundle();
  console.log(`   built ${report.file}: ${report.rawBytes} bytes (${report.gzipBytes} gzipped)`);
}

async function up(): Promise<void> {
  step("API bundle");
  await ensureBundle();
  if (target === "kubernetes") return upOnCluster();
  step("hot and cold MinIO on loopback");
  const [hot, cold] = (await startEnvironment({ dir: join(local, "minio"), basePort: minioBasePort })) as [
    MinioServerInfo,
    MinioServerInfo,
  ];
  step("pulumi up (stack local, file backend in .local/pulumi-state)");
  configureStack(externalTargetSettings(hot, cold), true);
  pulumi(["up", "--yes", "--skip-preview", "--suppress-outputs", "--suppress-progress"]);
  const outputs = stackOutputs();
  step("the API, from the stack's outputs");
  await startApi(outputs);
  await waitUntilReady(hot.endpoint, 5000);
  const metrics = `http://127.0.0.1:${outputs.apiSettings.METRICS_PORT}/metrics`;
  printReady(outputs, outputs.apiUrl, [
    `upload page       ${outputs.apiUrl}/upload-page   (large files in resumable parts; paste the key below)`,
    `API metrics       ${metrics}`,
    `hot MinIO         ${hot.endpoint}   (buckets ${outputs.uploadsBucket}, ${outputs.artifactsBucket})`,
    `cold MinIO        ${cold.endpoint}`,
  ]);
}

/** The kubernetes target: the cluster, then `pulumi up` onto it, every workload awaited. */
async function upOnCluster(): Promise<void> {
  step("the single-node cluster (npm run cluster -- start)");
  await startCluster();
  step(`pulumi up (stack ${stack}, namespace ${CLUSTER_NAMESPACE}; every workload awaited until Ready)`);
  configureStack(
    [
      ...clusterTargetSettings({ namespace: CLUSTER_NAMESPACE, nodePorts }),
      { key: "ephemeral", value: "false", secret: false },
    ],
    false,
  );
  pulumi(["up", "--yes", "--skip-preview", "--suppress-outputs"]);
  const outputs = stackOutputs();
  const apiUrl = nodePortUrl(nodePorts.api);
  // The pods are Ready when `up` returns; the NodePort follows once kube-proxy has synced.
  await waitForReady(apiUrl, "the API's NodePort");
  printReady(outputs, apiUrl, [
    `hot MinIO         ${nodePortUrl(nodePorts.hot)}   (4 pods, erasure-coded; buckets ${outputs.uploadsBucket}, ${outputs.artifactsBucket})`,
    `cold MinIO        ${nodePortUrl(nodePorts.cold)}`,
    `kubectl           KUBECONFIG=${clusterPaths().kubeconfig} kubectl -n ${CLUSTER_NAMESPACE} get pods`,
  ]);
}

function printReady(outputs: StackOutputs, apiUrl: string, lines: string[]): void {
  const key = exampleApiKey(outputs);
  console.log(`
ready in ${((Date.now() - t0) / 1000).toFixed(0)} s

  API               ${apiUrl}   (OpenAPI: ${apiUrl}/openapi.json)
${lines.map((line) => `  ${line}`).join("\n")}
  API key           in the curl below (stored encrypted under .local/)

Upload a file, then download it through the link the API returns:

  curl -sS -H 'Authorization: Bearer ${key}' -F file=@README.md ${apiUrl}/upload
  curl -sS -OJ "<download_url from the answer>"

Stop: npm run local -- down${target === "kubernetes" ? " --target kubernetes" : ""}      Remove everything: npm run local -- destroy${target === "kubernetes" ? " --target kubernetes" : ""}
`);
}

/** down, destroy and status of the kubernetes target: the cluster holds everything. */
async function mainOnCluster(command: string): Promise<void> {
  switch (command) {
    case "down":
      await stopCluster();
      console.log("stopped the cluster (its data, the stack's state and credentials kept in .local/)");
      return;
    case "destroy":
      if (existsSync(configFile)) {
        await startCluster();
        // After a `down`, the MinIO pods come back a moment after the cluster: destroy talks to them.
        for (const port of [nodePorts.hot, nodePorts.cold]) {
          await waitUntilReachable(nodePortUrl(port), { log: (m) => console.log(`   ${m}`) });
        }
        try {
          pulumi(["destroy", "--yes", "--skip-preview", "--suppress-outputs"]);
        } catch {
          // A distributed MinIO that just came back keeps settling for seconds after it reports
          // healthy (answers 503, or misses fresh objects). destroy picks up where it stopped: once more.
          console.log("   destroy failed right after the cluster started; trying once more in 15 s");
          await new Promise((r) => setTimeout(r, 15_000));
          pulumi(["destroy", "--yes", "--skip-preview", "--suppress-outputs"]);
        }
        pulumi(["stack", "rm", "--yes", "--force"], { quiet: true });
        rmSync(configFile, { force: true });
      }
      await stopCluster();
      // The cluster may hold more than this stack: its data goes with `npm run cluster -- delete`.
      console.log("destroyed the stack and stopped the cluster (npm run cluster -- delete removes its data)");
      return;
    case "status":
      console.log(clusterStatus());
      return;
    default:
      throw new Error(`unknown command "${command}": use up, down, destroy or status`);
  }
}

async function main(command: string): Promise<void> {
  if (target === "kubernetes" && command !== "up") return mainOnCluster(command);
  switch (command) {
    case "up":
      return up();
    case "down":
      await stopApi();
      await stopEnvironment({ dir: join(local, "minio") });
      console.log("stopped (data, state and credentials kept in .local/)");
      return;
    case "destroy":
      if (existsSync(configFile)) {
        await startEnvironment({ dir: join(local, "minio") });
        pulumi(["destroy", "--yes", "--skip-preview", "--suppress-outputs"]);
      }
      await stopApi();
      await stopEnvironment({ dir: join(local, "minio"), purge: true });
      rmSync(local, { recursive: true, force: true });
      console.log("destroyed and removed .local/");
      return;
    case "status":
      console.log(`API: ${isAlive(apiPid()) ? `running (pid ${apiPid()})` : "stopped"}`);
      execFileSync("node", [join(root, "scripts", "local-minio.mts"), "status", "--dir", join(local, "minio")], {
        stdio: "inherit",
      });
      return;
    default:
      throw new Error(`unknown command "${command}": use up, down, destroy or status`);
  }
}

if (process.argv[1] === import.meta.filename) {
  // The first argument that is neither a flag nor the value of --target.
  const args = process.argv.slice(2);
  const command = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--target") ?? "up";
  main(command).catch((err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
  });
}

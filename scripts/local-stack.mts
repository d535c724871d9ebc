// The local stack: the hot and cold MinIO on loopback, `pulumi up` of the `local` stack (target
// external) in a file backend under .local/, and the API as a local process started from the stack's
// outputs. Every step is idempotent: a second `up` changes nothing and takes seconds.
//
//   up       start (or keep) everything and print how to use it
//   down     stop the API and MinIO (data, state and credentials are kept)
//   destroy  pulumi destroy, then stop everything and delete .local/
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
import { parseApiKeys } from "../rules/api-keys.ts";
import { externalTargetSettings } from "./external-target.mts";
import { type MinioServerInfo, startEnvironment, stopEnvironment, waitUntilReady } from "./local-minio.mts";

const root = resolve(import.meta.dirname, "..");
// Where the local stack lives and which ports it takes: .local/ and 19000 (MinIO), 18080 (API) unless
// set, so a test (or a second checkout) can run one beside a developer's own.
const local = process.env.WSS_LOCAL_DIR ? resolve(process.env.WSS_LOCAL_DIR) : join(root, ".local");
const minioBasePort = process.env.WSS_LOCAL_MINIO_PORT ? Number(process.env.WSS_LOCAL_MINIO_PORT) : undefined;
const apiPort = process.env.WSS_LOCAL_API_PORT;
const stack = "local";
/** The local stack's config file (settings, salt and MinIO credentials): never committed. */
export const localConfigFile = join(local, "Pulumi.local.yaml");
const configFile = localConfigFile;
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
function configureStack(hot: MinioServerInfo, cold: MinioServerInfo): void {
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
  const committed = readFileSync(join(root, "Pulumi.local.yaml"), "utf8");
  const settings = [...committed.matchAll(/^ {2}workflow-studio-storage:(\w+): "?([^"\n]*)"?$/gm)].map((m) => [
    m[1] as string,
    m[2] as string,
  ]);
  const values: [string, string, boolean][] = [
    ...settings.map(([k, v]) => [k, v, false] as [string, string, boolean]),
    ...externalTargetSettings(hot, cold).map((s) => [s.key, s.value, s.secret] as [string, string, boolean]),
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
}

function stackOutputs(): StackOutputs {
  return JSON.parse(pulumi(["stack", "output", "--json", "--show-secrets"], { quiet: true })) as StackOutputs;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return pid > 0;
  } catch {
    return false;
  }
}

function apiPid(): number {
  const file = join(apiDir, "api.pid");
  return existsSync(file) ? Number(readFileSync(file, "utf8")) || 0 : 0;
}

async function stopApi(): Promise<void> {
  const pid = apiPid();
  if (isAlive(pid)) {
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  }
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
  const url = outputs.apiUrl;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    if (ready?.ok) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the API did not become ready at ${url}; see ${join(apiDir, "api.log")}`);
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
  step("hot and cold MinIO on loopback");
  const [hot, cold] = (await startEnvironment({ dir: join(local, "minio"), basePort: minioBasePort })) as [
    MinioServerInfo,
    MinioServerInfo,
  ];
  step("pulumi up (stack local, file backend in .local/pulumi-state)");
  configureStack(hot, cold);
  pulumi(["up", "--yes", "--skip-preview", "--suppress-outputs", "--suppress-progress"]);
  const outputs = stackOutputs();
  step("the API, from the stack's outputs");
  await startApi(outputs);
  await waitUntilReady(hot.endpoint, 5000);
  const key = exampleApiKey(outputs);
  const metrics = `http://127.0.0.1:${outputs.apiSettings.METRICS_PORT}/metrics`;
  console.log(`
ready in ${((Date.now() - t0) / 1000).toFixed(0)} s

  API               ${outputs.apiUrl}   (OpenAPI: ${outputs.apiUrl}/openapi.json)
  upload page       ${outputs.apiUrl}/upload-page   (large files in resumable parts; paste the key below)
  API metrics       ${metrics}
  hot MinIO         ${hot.endpoint}   (buckets ${outputs.uploadsBucket}, ${outputs.artifactsBucket})
  cold MinIO        ${cold.endpoint}
  API key           in the curl below (stored encrypted under .local/)

Upload a file, then download it through the link the API returns:

  curl -sS -H 'Authorization: Bearer ${key}' -F file=@README.md ${outputs.apiUrl}/upload
  curl -sS -OJ "<download_url from the answer>"

Stop: npm run local -- down      Remove everything: npm run local -- destroy
`);
}

async function main(command: string): Promise<void> {
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
  main(process.argv[2] ?? "up").catch((err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
  });
}

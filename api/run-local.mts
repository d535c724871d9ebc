// `npm run api`: builds the bundle and runs it against the local MinIO (`npm run minio -- start`),
// with the environment contract the Pulumi program uses in the cluster. The buckets are created if
// missing (the Pulumi program owns them in a real deployment). Extra variables (PORT, API_KEYS,
// MAX_UPLOAD_BYTES...) pass through, so any setting can be tried locally.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as Minio from "minio";
import { singleKeyWithAllScopes } from "../rules/api-keys.ts";
import { buildBundle } from "./build.mts";

const projectRoot = resolve(import.meta.dirname, "..");
/** The key `npm run api` uses unless API_KEYS is set: for local use only. */
export const LOCAL_API_KEY = "local-dev-key-0123456789";

interface ServerJson {
  endpoint: string;
  accessKey: string;
  secretKey: string;
}

function localMinio(): ServerJson {
  const file = join(projectRoot, ".local", "minio", "hot", "server.json");
  if (!existsSync(file)) {
    throw new Error(`no local MinIO environment (${file} is missing). Start it first: npm run minio -- start`);
  }
  return JSON.parse(readFileSync(file, "utf8")) as ServerJson;
}

async function main(): Promise<number> {
  const minio = localMinio();
  const health = await fetch(`${minio.endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(2000) }).catch(
    () => undefined,
  );
  if (!health?.ok) throw new Error(`local MinIO at ${minio.endpoint} is not running. Start it: npm run minio -- start`);

  const env: NodeJS.ProcessEnv = {
    PORT: "8080",
    HOST: "127.0.0.1",
    API_KEYS: singleKeyWithAllScopes("local", LOCAL_API_KEY),
    ...process.env,
    MINIO_ENDPOINT: minio.endpoint,
    MINIO_ACCESS_KEY: minio.accessKey,
    MINIO_SECRET_KEY: minio.secretKey,
  };
  const url = new URL(minio.endpoint);
  const client = new Minio.Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    region: env.MINIO_REGION ?? "us-east-1",
  });
  for (const bucket of [env.UPLOADS_BUCKET ?? "user-uploads", env.ARTIFACTS_BUCKET ?? "workflow-artifacts"]) {
    if (!(await client.bucketExists(bucket))) {
      await client.makeBucket(bucket);
      console.error(`created bucket ${bucket}`);
    }
  }

  const report = await buildBundle();
  console.error(`bundle ${report.file}: ${report.rawBytes} bytes raw, ${report.gzipBytes} gzipped`);
  console.error(`API on http://${env.HOST}:${env.PORT}, MinIO ${minio.endpoint}`);
  if (!process.env.API_KEYS) console.error(`API key: ${LOCAL_API_KEY}`);

  const child = spawn(process.execPath, [report.file], { env, stdio: "inherit" });
  // Ctrl-C reaches the child through the terminal's process group; forward SIGTERM explicitly.
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  process.on("SIGINT", () => undefined);
  return new Promise((resolveExit) => child.on("exit", (code, signal) => resolveExit(code ?? (signal ? 1 : 0))));
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
  },
);

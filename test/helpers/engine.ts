import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConfigMap, LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { externalTargetConfigMap } from "../../scripts/external-target.mts";
import { startTestMinio, type TestMinio } from "./minio";

/**
 * An ephemeral stack of a program, in a temporary file backend with passphrase secrets. `dispose`
 * destroys what is left, removes the stack and deletes the backend, whatever happened before.
 */
export interface EphemeralStack {
  stack: Stack;
  backendDir: string;
  /** The environment the stack's CLI runs with (backend, passphrase): for running the CLI directly. */
  env: Record<string, string>;
  /** Every file the backend holds, concatenated: to prove that no secret is stored in clear. */
  backendText(): string;
  dispose(): Promise<void>;
}

export async function createEphemeralStack(
  workDir: string,
  config: ConfigMap,
  extraEnv: Record<string, string> = {},
): Promise<EphemeralStack> {
  const backendDir = mkdtempSync(join(tmpdir(), "wss-backend-"));
  const stackName = `t${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const env = {
    PULUMI_BACKEND_URL: `file://${backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: randomBytes(12).toString("hex"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    ...extraEnv,
  };
  const stack = await LocalWorkspace.createStack({ stackName, workDir }, { envVars: env });
  await stack.setAllConfig(config);
  return {
    stack,
    backendDir,
    env,
    backendText: () => readTree(backendDir),
    async dispose() {
      try {
        await stack.destroy();
        await stack.workspace.removeStack(stackName);
      } finally {
        rmSync(backendDir, { recursive: true, force: true });
      }
    },
  };
}

function readTree(dir: string): string {
  return readdirSync(dir)
    .map((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? readTree(path) : readFileSync(path, "utf8");
    })
    .join("\n");
}

/** The project's own stack config for the external target against a test MinIO's hot and cold servers. */
export function externalTargetConfig(minio: TestMinio, extra: ConfigMap = {}): ConfigMap {
  return externalTargetConfigMap(minio.server("hot"), minio.server("cold"), extra);
}

/** The project's own program: what the engine tests deploy. */
export const PROJECT_ROOT = join(__dirname, "..", "..");

/** A test MinIO environment and an ephemeral stack of the program (external target) on it. */
export interface ProgramOnMinio {
  minio: TestMinio;
  eph: EphemeralStack;
  /** Destroys and removes the stack, then stops MinIO (whatever happened before). */
  stop(): Promise<void>;
}

/**
 * Starts a MinIO environment of its own and an ephemeral stack of the program against it, with
 * `ephemeral: true` (destroy removes the data) and any `extra` config.
 */
export async function startProgramOnTestMinio(
  extra: ConfigMap = {},
  minioOptions: Parameters<typeof startTestMinio>[0] = {},
): Promise<ProgramOnMinio> {
  const minio = await startTestMinio(minioOptions);
  const eph = await createEphemeralStack(
    PROJECT_ROOT,
    externalTargetConfig(minio, { "workflow-studio-storage:ephemeral": { value: "true" }, ...extra }),
  );
  return {
    minio,
    eph,
    async stop() {
      try {
        await eph.dispose();
      } finally {
        await minio.stop();
      }
    },
  };
}

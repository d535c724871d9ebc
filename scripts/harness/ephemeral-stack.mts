// An ephemeral stack of a program in a file backend of its own, as a user's CLI runs it (engine,
// language host, plugins): for the engine tests, the benchmark's previews and the fault suite's stack.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConfigMap, LocalWorkspace, type Stack } from "@pulumi/pulumi/automation/index.js";

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
  /**
   * Forgets the stack without destroying it (its resources went with a throwaway environment): the
   * stack, its config file beside the program and the backend are removed.
   */
  forget(): Promise<void>;
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
    async forget() {
      try {
        await stack.workspace.removeStack(stackName, { force: true });
      } finally {
        rmSync(backendDir, { recursive: true, force: true });
      }
    },
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

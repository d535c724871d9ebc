import { join } from "node:path";
import type { ConfigMap } from "@pulumi/pulumi/automation";
import { externalTargetConfigMap } from "../../scripts/external-target.mts";
import { createEphemeralStack, type EphemeralStack } from "../../scripts/harness/ephemeral-stack.mts";
import { startTestMinio, type TestMinio } from "./minio";

export { createEphemeralStack, type EphemeralStack };

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

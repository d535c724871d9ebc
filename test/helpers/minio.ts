import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as Minio from "minio";
import { type MinioConnection, minioClient } from "../../components/providers/minio-connection";
import {
  type EnvironmentOptions,
  type MinioServerInfo,
  startEnvironment,
  stopEnvironment,
} from "../../scripts/local-minio.mts";

/** A MinIO environment of a test file's own: fresh folder, free ports, stopped and deleted by `stop`. */
export interface TestMinio {
  dir: string;
  servers: MinioServerInfo[];
  server(name: string): MinioServerInfo;
  client(name: string): Minio.Client;
  /** The server as a provider's connection (root credentials). */
  connection(name: string): MinioConnection;
  /**
   * Rotates the root secret keys of the named servers the way an operator does: stop, start with
   * the new MINIO_ROOT_PASSWORD (data kept). Returns the new keys by server name.
   */
  rotateRootSecrets(names: string[]): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startTestMinio(options: Omit<EnvironmentOptions, "dir" | "basePort"> = {}): Promise<TestMinio> {
  const dir = mkdtempSync(join(tmpdir(), "wss-minio-"));
  let servers = await startEnvironment({ ...options, dir, basePort: 0 });
  const server = (name: string) => {
    const found = servers.find((s) => s.name === name);
    if (!found) throw new Error(`no MinIO server named ${name} in this environment`);
    return found;
  };
  return {
    dir,
    get servers() {
      return servers;
    },
    server,
    client: (name) => clientFor(server(name)),
    connection: (name) => {
      const { endpoint, accessKey, secretKey } = server(name);
      return { endpoint, accessKey, secretKey };
    },
    async rotateRootSecrets(names) {
      await stopEnvironment({ dir, distributed: options.distributed });
      const rotated: Record<string, string> = {};
      for (const name of names) {
        // server.json is what the environment starts each server with (see scripts/local-minio.mts).
        const file = join(dir, name, "server.json");
        const info = JSON.parse(readFileSync(file, "utf8")) as { secretKey: string };
        rotated[name] = randomBytes(24).toString("base64url");
        writeFileSync(file, JSON.stringify({ ...info, secretKey: rotated[name] }), { mode: 0o600 });
      }
      servers = await startEnvironment({ ...options, dir, basePort: 0 });
      return rotated;
    },
    async stop() {
      await stopEnvironment({ dir, distributed: options.distributed, purge: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A `minio` client for a server, built the way the providers build theirs. */
export function clientFor(server: Pick<MinioServerInfo, "endpoint" | "accessKey" | "secretKey">): Minio.Client {
  return minioClient(server);
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

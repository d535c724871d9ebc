// Where the cluster's binaries are: the toolchain's cache folders (scripts/toolchain/versions.sh owns
// the versions and folders; this reads them from there), else the machine's PATH.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const versionsFile = resolve(import.meta.dirname, "..", "toolchain", "versions.sh");
const NAMES = [
  "KUBERNETES_VERSION",
  "KUBE_DIR",
  "CNI_DIR",
  "COREDNS_DIR",
  "MINIO_DIR",
  "MINIO_MODULE_VERSION",
  "NODE_VERSION",
  "NODE_DIR",
  "KUBERNETES_OLDEST_VERSION",
  "KUBERNETES_OLDEST_OPENAPI_DIR",
] as const;

export type Toolchain = Record<(typeof NAMES)[number], string>;

let cached: Toolchain | undefined;

/** The pins and cache folders of versions.sh, as the shell sees them. */
export function toolchain(): Toolchain {
  if (!cached) {
    const script = `source "${versionsFile}" && printf '%s\\n' ${NAMES.map((n) => `"$${n}"`).join(" ")}`;
    const values = execFileSync("bash", ["-c", script], { encoding: "utf8" }).split("\n");
    cached = Object.fromEntries(NAMES.map((n, i) => [n, values[i] ?? ""])) as Toolchain;
  }
  return cached;
}

/** Where `name` is on the machine's PATH, or undefined. */
export function onPath(name: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

/** A binary from the toolchain folder `dir` when built there, else from PATH; a clear error otherwise. */
export function binary(name: string, dir: string): string {
  const built = join(dir, "bin", name);
  if (existsSync(built)) return built;
  const found = onPath(name);
  if (!found) throw new Error(`${name} was not found in ${dir}/bin or on PATH: run npm run setup`);
  return found;
}

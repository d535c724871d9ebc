// The images the cluster runs, built from the toolchain's binaries into OCI archives (images.mts)
// and imported into containerd; no registry is involved. The MinIO and Node.js tags are the ones a
// stack names (`minioImage`, `apiNodeImage`): the local kubernetes stack takes them from here.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type ImageSpec, nodeRuntimeFiles } from "./images.mts";
import { binary, toolchain } from "./toolchain.mts";

/** MinIO's tag: the date and commit of the pinned module version, as images/minio/Dockerfile documents. */
export function minioImageName(): string {
  const version = toolchain().MINIO_MODULE_VERSION; // v0.0.0-20260212201848-7aac2a2c5b7c
  const [, stamp = "", commit = ""] = version.split("-");
  return `workflow-studio/minio:${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}-${commit.slice(0, 12)}`;
}

export function nodeImageName(): string {
  return `workflow-studio/node:${toolchain().NODE_VERSION}`;
}

export function pauseImageName(): string {
  return "workflow-studio/pause:1";
}

export function corednsImageName(): string {
  return `workflow-studio/coredns:${toolchain().COREDNS_DIR.split("coredns-")[1]}`;
}

/** The Node.js the toolchain runs (its own build, or the machine's when that is new enough). */
function nodeBinary(): string {
  const built = join(toolchain().NODE_DIR, "bin", "node");
  return existsSync(built) ? built : process.execPath;
}

const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export function clusterImages(): ImageSpec[] {
  const t = toolchain();
  // CA certificates let MinIO reach an S3 cold tier over TLS, as in the Dockerfile's image.
  const caFiles = existsSync(CA_BUNDLE) ? [{ path: CA_BUNDLE, source: CA_BUNDLE, mode: 0o644 }] : [];
  return [
    {
      name: pauseImageName(),
      files: [{ path: "/pause", source: join(t.COREDNS_DIR, "bin", "pause"), mode: 0o755 }],
      entrypoint: ["/pause"],
      user: "65535:65535",
    },
    {
      name: corednsImageName(),
      files: [{ path: "/coredns", source: binary("coredns", t.COREDNS_DIR), mode: 0o755 }],
      entrypoint: ["/coredns"],
    },
    {
      name: minioImageName(),
      files: [{ path: "/usr/bin/minio", source: binary("minio", t.MINIO_DIR), mode: 0o755 }, ...caFiles],
      entrypoint: ["/usr/bin/minio"],
      user: "1000:1000",
    },
    {
      name: nodeImageName(),
      files: nodeRuntimeFiles(nodeBinary()),
      cmd: ["node"],
      env: { PATH: "/usr/local/bin:/usr/bin:/bin", NODE_ENV: "production" },
      user: "1000:1000",
    },
  ];
}

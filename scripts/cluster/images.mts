// Container images without Docker or a registry: the cluster's containerd imports OCI image layouts
// packed in a tar (`ctr -n k8s.io images import FILE`), and its pods run them with imagePullPolicy
// IfNotPresent or Never. This module writes such archives from a list of host files.
//
// An archive holds one uncompressed layer (containerd unpacks it as it is, and compressing ~200 MB of
// binaries only to import them locally costs time for nothing), its config, its manifest and an
// index.json whose manifest descriptor carries the name containerd gives the image. Every tar entry
// has uid/gid 0 and mtime 0 and the entries are sorted, so the same inputs always give the same
// digests: an unchanged image imports as unchanged, and pods roll only when something changed.
//
// Names: `normaliseImageName` follows containerd (and the kubelet, which looks images up by the
// normalised name): `minio:1` is `docker.io/library/minio:1`, an untagged name means `:latest`.
// `writeImageArchive` refuses an untagged name instead: a pod naming a `:latest` image gets
// imagePullPolicy Always by default, which asks a registry this cluster does not have, and one
// fixed tag would not tell the pods that the image changed. It refuses a digest too: the manifest
// digest is known only once the image is written.
import { execFileSync } from "node:child_process";
import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rename, rm, stat } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { pipeline } from "node:stream/promises";

/** One file system entry of the image. Exactly one of source, content, symlink and directory. */
export interface ImageFile {
  /** Absolute path in the image, e.g. `/usr/local/bin/node`. */
  path: string;
  /** A host file to copy (symlinks followed; streamed, never held in memory). */
  source?: string;
  /** The file's bytes. */
  content?: Buffer;
  /** Makes the entry a symbolic link to this target. */
  symlink?: string;
  /** Makes the entry a directory. Parents of every entry are added as 0755 directories anyway. */
  directory?: boolean;
  /**
   * Permission bits, including setuid/setgid/sticky (e.g. 0o1777). Defaults: a source keeps its
   * host mode, content 0644, a directory 0755, a symlink 0777.
   */
  mode?: number;
}

export interface ImageSpec {
  /** With a tag, e.g. `workflow-studio/minio:2026-02-12-7aac2a2c5b7c`; normalised as containerd does. */
  name: string;
  files: ImageFile[];
  entrypoint?: string[];
  cmd?: string[];
  /** Written sorted by name, so that the digest does not depend on the object's key order. */
  env?: Record<string, string>;
  /** A user name or uid, optionally with `:group`, e.g. `1000:1000`. */
  user?: string;
  /** Absolute. */
  workdir?: string;
}

export interface ImageArchive {
  /** The manifest's digest (`sha256:...`): what containerd lists as the image's digest. */
  digest: string;
  /** The normalised name the image is imported as, e.g. `docker.io/workflow-studio/minio:TAG`. */
  reference: string;
}

const mediaTypes = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
} as const;

// ---------------------------------------------------------------------------------------------------
// Names: the grammar and the normalisation of github.com/distribution/reference, which containerd uses.

const pathComponent = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainPattern = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const remainderPattern = new RegExp(
  `^(${pathComponent}(?:/${pathComponent})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);
const maxRepositoryLength = 255;

interface ImageReference {
  /** Domain and path, e.g. `docker.io/library/minio`. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Docker's rule: the first component is a registry only when it looks like a host. */
function splitDomain(name: string): [string, string] {
  const slash = name.indexOf("/");
  const first = name.slice(0, slash);
  const isHost = slash >= 0 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
  let [domain, remainder] = isHost ? [first, name.slice(slash + 1)] : ["docker.io", name];
  if (domain === "index.docker.io") domain = "docker.io";
  if (domain === "docker.io" && !remainder.includes("/")) remainder = `library/${remainder}`;
  return [domain, remainder];
}

function parseImageName(name: string): ImageReference {
  const invalid = (why: string) => new Error(`invalid image name ${JSON.stringify(name)}: ${why}`);
  if (/^[a-f0-9]{64}$/.test(name)) throw invalid("a 64-digit hexadecimal string is an image id, not a name");
  const [domain, remainder] = splitDomain(name);
  if (!domainPattern.test(domain)) throw invalid(`${JSON.stringify(domain)} is not a registry host`);
  const match = remainderPattern.exec(remainder);
  if (!match) {
    const path = remainder.split(/[:@]/)[0] ?? "";
    if (path !== path.toLowerCase()) throw invalid("the repository must be lowercase");
    throw invalid("expected [registry/]path[:tag][@digest] (tags: letters, digits, '_', '.', '-', at most 128)");
  }
  const [, path, tag, digest] = match;
  const repository = `${domain}/${path}`;
  if (repository.length > maxRepositoryLength) throw invalid(`longer than ${maxRepositoryLength} characters`);
  return { repository, tag, digest };
}

/**
 * The name containerd and the kubelet use for an image name: `docker.io` and `library/` added as
 * Docker does, and `:latest` when the name has neither tag nor digest.
 */
export function normaliseImageName(name: string): string {
  const { repository, tag, digest } = parseImageName(name);
  const effectiveTag = tag ?? (digest ? undefined : "latest");
  return `${repository}${effectiveTag ? `:${effectiveTag}` : ""}${digest ? `@${digest}` : ""}`;
}

function buildableReference(name: string): { reference: string; tag: string } {
  const { repository, tag, digest } = parseImageName(name);
  if (digest) throw new Error(`image name ${JSON.stringify(name)}: a built image is named by a tag, not a digest`);
  if (!tag) {
    throw new Error(
      `image name ${JSON.stringify(name)} has no tag: give one that changes with the content (an untagged ` +
        "image is :latest, which Kubernetes pulls from a registry by default)",
    );
  }
  return { reference: `${repository}:${tag}`, tag };
}

// ---------------------------------------------------------------------------------------------------
// Tar (ustar): 512-byte header, the body padded to 512 bytes, two zero blocks at the end.

const block = 512;

interface TarEntry {
  /** Relative, without a trailing slash. */
  name: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  size: number;
  content?: Buffer;
  source?: string;
  linkname?: string;
}

const typeFlags = { file: "0", symlink: "2", directory: "5" } as const;

function octalField(value: number, width: number, what: string): string {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar: ${what} ${value} does not fit the header`);
  return `${digits.padStart(width - 1, "0")}\0`;
}

/** Splits a long name over ustar's prefix (155 bytes) and name (100 bytes) fields, at a slash. */
function splitTarName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: "", name };
  for (let slash = name.indexOf("/"); slash > 0; slash = name.indexOf("/", slash + 1)) {
    const prefix = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    if (Buffer.byteLength(prefix) > 155) break;
    if (rest !== "" && rest !== "/" && Buffer.byteLength(rest) <= 100) return { prefix, name: rest };
  }
  throw new Error(`tar: the path ${JSON.stringify(name)} is too long for ustar (155 + 100 bytes, split at a slash)`);
}

function tarHeader(entry: TarEntry): Buffer {
  // Directories end with a slash, as tar itself writes them.
  const { prefix, name } = splitTarName(entry.type === "directory" ? `${entry.name}/` : entry.name);
  const linkname = entry.linkname ?? "";
  if (Buffer.byteLength(linkname) > 100) throw new Error(`tar: the symlink target of ${entry.name} is over 100 bytes`);
  const header = Buffer.alloc(block);
  const put = (text: string, offset: number, length: number) => header.write(text, offset, length, "utf8");
  put(name, 0, 100);
  put(octalField(entry.mode, 8, "mode"), 100, 8);
  put(octalField(0, 8, "uid"), 108, 8);
  put(octalField(0, 8, "gid"), 116, 8);
  put(octalField(entry.size, 12, "size"), 124, 12);
  put(octalField(0, 12, "mtime"), 136, 12);
  put(" ".repeat(8), 148, 8); // the checksum is computed with its own field as spaces
  put(typeFlags[entry.type], 156, 1);
  put(linkname, 157, 100);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  put(prefix, 345, 155);
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  put(`${checksum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return header;
}

async function* sourceBytes(entry: TarEntry & { source: string }): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const chunk of createReadStream(entry.source, { highWaterMark: 1 << 20 })) {
    read += (chunk as Buffer).length;
    if (read > entry.size) break;
    yield chunk as Buffer;
  }
  // The header already promised entry.size bytes.
  if (read !== entry.size) throw new Error(`${entry.source} changed size while it was being packed`);
}

async function* tarBytes(entries: Iterable<TarEntry>): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield tarHeader(entry);
    if (entry.content) yield entry.content;
    else if (entry.source) yield* sourceBytes({ ...entry, source: entry.source });
    const padding = (block - (entry.size % block)) % block;
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield Buffer.alloc(2 * block);
}

async function* hashed(source: AsyncIterable<Buffer>, hash: Hash, counter: { size: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    counter.size += chunk.length;
    yield chunk;
  }
}

interface Blob {
  digest: string;
  size: number;
}

/** Writes a tar to file and returns its sha256, computed on the way. */
async function writeTar(entries: Iterable<TarEntry>, file: string): Promise<Blob> {
  const hash = createHash("sha256");
  const counter = { size: 0 };
  await pipeline(hashed(tarBytes(entries), hash, counter), createWriteStream(file, { flags: "wx" }));
  return { digest: `sha256:${hash.digest("hex")}`, size: counter.size };
}

// ---------------------------------------------------------------------------------------------------
// The layer's entries: validated, parents added, sorted.

const pathProblems: [(path: string) => boolean, string][] = [
  [(path) => typeof path !== "string" || !path.startsWith("/"), "is not absolute"],
  [(path) => path === "/", "is the root, which every image has"],
  [(path) => path.includes("\0"), "contains a NUL byte"],
  [
    (path) => posix.normalize(path) !== path || path.endsWith("/"),
    "is not normalised (no '.', '..', '//' or trailing '/')",
  ],
];

/** `/usr/local/bin/node` -> `usr/local/bin/node`, refusing anything that is not plainly absolute. */
function layerPath(path: string): string {
  const problem = pathProblems.find(([test]) => test(path));
  if (problem) throw new Error(`image file ${JSON.stringify(path)} ${problem[1]}`);
  return path.slice(1);
}

function checkMode(file: ImageFile): void {
  if (file.mode !== undefined && !(Number.isInteger(file.mode) && file.mode >= 0 && file.mode <= 0o7777)) {
    throw new Error(`image file ${file.path}: mode ${file.mode} is not within 0..0o7777`);
  }
}

async function layerEntry(file: ImageFile): Promise<TarEntry> {
  const name = layerPath(file.path);
  checkMode(file);
  const kinds = (["source", "content", "symlink", "directory"] as const).filter(
    (kind) => file[kind] !== undefined && file[kind] !== false,
  );
  if (kinds.length !== 1) {
    throw new Error(
      `image file ${file.path}: give exactly one of source, content, symlink, directory (got ${kinds.join(", ") || "none"})`,
    );
  }
  if (file.source !== undefined) {
    const info = await stat(file.source).catch((err: Error) => {
      throw new Error(`image file ${file.path}: cannot read its source: ${err.message}`);
    });
    if (!info.isFile()) throw new Error(`image file ${file.path}: its source ${file.source} is not a regular file`);
    return { name, type: "file", mode: file.mode ?? info.mode & 0o7777, size: info.size, source: file.source };
  }
  if (file.content !== undefined) {
    return { name, type: "file", mode: file.mode ?? 0o644, size: file.content.length, content: file.content };
  }
  if (file.symlink !== undefined) {
    if (file.symlink === "" || file.symlink.includes("\0"))
      throw new Error(`image file ${file.path}: the symlink target is empty or has a NUL byte`);
    return { name, type: "symlink", mode: file.mode ?? 0o777, size: 0, linkname: file.symlink };
  }
  return { name, type: "directory", mode: file.mode ?? 0o755, size: 0 };
}

function parentsOf(name: string): string[] {
  const parts = name.split("/");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

async function layerEntries(files: ImageFile[]): Promise<TarEntry[]> {
  const byName = new Map<string, TarEntry>();
  for (const entry of await Promise.all(files.map(layerEntry))) {
    if (byName.has(entry.name)) throw new Error(`image file /${entry.name} is given twice`);
    byName.set(entry.name, entry);
  }
  for (const entry of [...byName.values()]) {
    for (const parent of parentsOf(entry.name)) {
      const existing = byName.get(parent);
      if (existing && existing.type !== "directory") {
        throw new Error(`image file /${parent} is a ${existing.type}, but /${entry.name} is inside it`);
      }
      if (!existing) byName.set(parent, { name: parent, type: "directory", mode: 0o755, size: 0 });
    }
  }
  // Sorted, the tar is independent of the order of `files`, and a parent precedes its children.
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------------
// OCI image layout.

/** The files come from this host, so the image has the host's architecture. */
function hostArchitecture(): string {
  const architectures: Record<string, string> = { x64: "amd64", arm64: "arm64" };
  const architecture = architectures[process.arch];
  if (!architecture) throw new Error(`no OCI architecture known for ${process.arch}`);
  return architecture;
}

function checkSpec(spec: ImageSpec): void {
  const strings = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === "string");
  for (const key of ["entrypoint", "cmd"] as const) {
    if (spec[key] !== undefined && !strings(spec[key])) throw new Error(`image ${spec.name}: ${key} must be strings`);
  }
  for (const key of Object.keys(spec.env ?? {})) {
    if (key === "" || key.includes("=")) throw new Error(`image ${spec.name}: bad environment variable name ${key}`);
  }
  if (spec.workdir !== undefined && !spec.workdir.startsWith("/")) {
    throw new Error(`image ${spec.name}: workdir ${spec.workdir} is not absolute`);
  }
  if (!Array.isArray(spec.files)) throw new Error(`image ${spec.name}: files must be a list`);
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function blobOf(bytes: Buffer): Blob {
  return { digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: bytes.length };
}

function imageConfig(spec: ImageSpec, layer: Blob, architecture: string): Buffer {
  const env = Object.entries(spec.env ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`);
  // No "created" or "history": a timestamp would change the digest of identical images.
  return json({
    architecture,
    os: "linux",
    config: {
      ...(spec.user !== undefined && { User: spec.user }),
      ...(env.length > 0 && { Env: env }),
      ...(spec.entrypoint !== undefined && { Entrypoint: spec.entrypoint }),
      ...(spec.cmd !== undefined && { Cmd: spec.cmd }),
      ...(spec.workdir !== undefined && { WorkingDir: spec.workdir }),
    },
    rootfs: { type: "layers", diff_ids: [layer.digest] },
  });
}

function blobEntry(blob: Blob, body: { content: Buffer } | { source: string }): TarEntry {
  return {
    name: `blobs/sha256/${blob.digest.slice("sha256:".length)}`,
    type: "file",
    mode: 0o644,
    size: blob.size,
    ...body,
  };
}

function fileEntry(name: string, content: Buffer): TarEntry {
  return { name, type: "file", mode: 0o644, size: content.length, content };
}

function directoryEntry(name: string): TarEntry {
  return { name, type: "directory", mode: 0o755, size: 0 };
}

/**
 * Writes the image as an OCI image layout in a tar at outFile, for `ctr images import`. The file is
 * written beside outFile first and renamed, so outFile is never a half-written archive.
 */
export async function writeImageArchive(spec: ImageSpec, outFile: string): Promise<ImageArchive> {
  const { reference, tag } = buildableReference(spec.name);
  checkSpec(spec);
  const entries = await layerEntries(spec.files);
  const architecture = hostArchitecture();
  const work = await mkdtemp(join(dirname(outFile), ".image-"));
  try {
    const layerFile = join(work, "layer.tar");
    // Uncompressed, the layer's digest is also its diff_id.
    const layer = await writeTar(entries, layerFile);
    const configBytes = imageConfig(spec, layer, architecture);
    const config = blobOf(configBytes);
    const manifestBytes = json({
      schemaVersion: 2,
      mediaType: mediaTypes.manifest,
      config: { mediaType: mediaTypes.config, ...config },
      layers: [{ mediaType: mediaTypes.layer, ...layer }],
    });
    const manifest = blobOf(manifestBytes);
    const index = json({
      schemaVersion: 2,
      mediaType: mediaTypes.index,
      manifests: [
        {
          mediaType: mediaTypes.manifest,
          ...manifest,
          platform: { architecture, os: "linux" },
          // containerd takes the first as the image's name verbatim, so it must be normalised.
          annotations: { "io.containerd.image.name": reference, "org.opencontainers.image.ref.name": tag },
        },
      ],
    });
    const blobs = [
      blobEntry(layer, { source: layerFile }),
      blobEntry(config, { content: configBytes }),
      blobEntry(manifest, { content: manifestBytes }),
    ].sort((a, b) => (a.name < b.name ? -1 : 1));
    const archiveFile = join(work, "image.tar");
    await writeTar(
      [
        fileEntry("oci-layout", json({ imageLayoutVersion: "1.0.0" })),
        fileEntry("index.json", index),
        directoryEntry("blobs"),
        directoryEntry("blobs/sha256"),
        ...blobs,
      ],
      archiveFile,
    );
    await rename(archiveFile, outFile);
    return { digest: manifest.digest, reference };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Node.js as the only thing in an image.

/** Absolute paths of the shared libraries and the loader that `ldd` lists for a binary. */
function sharedLibraries(binary: string): string[] {
  let output: string;
  try {
    output = execFileSync("ldd", [binary], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const failed = err as { stdout?: string; stderr?: string; message: string };
    // A static binary needs no library; ldd says so and exits 1.
    if (`${failed.stdout}${failed.stderr}`.includes("not a dynamic executable")) return [];
    throw new Error(`ldd ${binary} failed: ${failed.stderr || failed.message}`);
  }
  const paths = new Set<string>();
  for (const line of output.split("\n")) {
    const missing = /^\s*(\S+) => not found/.exec(line);
    if (missing) throw new Error(`${binary} needs ${missing[1]}, which this host does not have`);
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` or the loader `/lib64/ld-linux-x86-64.so.2 (0x...)`;
    // the vDSO (`linux-vdso.so.1 (0x...)`) is the kernel's and has no path.
    const library = /(?:=>\s+|^\s*)(\/\S+)\s+\(0x[0-9a-f]+\)\s*$/.exec(line);
    if (library?.[1]) paths.add(posix.normalize(library[1]));
  }
  return [...paths];
}

const passwd = ["root:x:0:0:root:/root:/sbin/nologin", "node:x:1000:1000:node:/tmp:/sbin/nologin", ""].join("\n");
const group = ["root:x:0:", "node:x:1000:", ""].join("\n");

/**
 * What Node.js needs to run in an otherwise empty image: the binary at /usr/local/bin/node, every
 * shared library and the loader at the paths `ldd` shows (the loader finds them there), a /tmp
 * everyone may write to, and /etc/passwd and /etc/group naming root and the user `node` (1000),
 * whose home is /tmp since nothing else in the image is writable.
 */
export function nodeRuntimeFiles(nodeBinary: string): ImageFile[] {
  return [
    { path: "/usr/local/bin/node", source: nodeBinary, mode: 0o755 },
    ...sharedLibraries(nodeBinary).map((library) => ({ path: library, source: library })),
    { path: "/tmp", directory: true, mode: 0o1777 },
    { path: "/etc/passwd", content: Buffer.from(passwd) },
    { path: "/etc/group", content: Buffer.from(group) },
  ];
}

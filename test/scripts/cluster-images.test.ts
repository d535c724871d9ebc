import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ImageFile,
  type ImageSpec,
  nodeRuntimeFiles,
  normaliseImageName,
  writeImageArchive,
} from "../../scripts/cluster/images.mts";

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

const work = mkdtempSync(join(tmpdir(), "wss-images-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let counter = 0;
function freshDir(): string {
  const dir = join(work, `${++counter}`);
  mkdirSync(dir);
  return dir;
}

/** Runs the system tar and fails on any complaint: a malformed header makes it warn, not fail. */
function tar(args: string[]): string {
  const result = spawnSync("tar", args, { encoding: "utf8" });
  expect(result.stderr, `tar ${args.join(" ")}`).toBe("");
  expect(result.status).toBe(0);
  return result.stdout;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

const hostFile = join(work, "host-tool");
writeFileSync(hostFile, "#!/bin/sh\necho tool\n");
chmodSync(hostFile, 0o750);
// The files come from the host, so the image has its architecture.
const architecture = process.arch === "arm64" ? "arm64" : "amd64";
const longPath = `/opt/${"d".repeat(60)}/${"e".repeat(60)}/file.txt`;

function sampleFiles(): ImageFile[] {
  return [
    { path: "/etc/motd", content: Buffer.from("hello\n") },
    { path: "/usr/local/bin/tool", source: hostFile },
    { path: "/usr/bin/tool", symlink: "../local/bin/tool" },
    { path: "/tmp", directory: true, mode: 0o1777 },
    { path: "/data/secret", content: Buffer.from("s"), mode: 0o600 },
    { path: longPath, content: Buffer.from("long") },
  ];
}

function sampleSpec(overrides: Partial<ImageSpec> = {}): ImageSpec {
  return {
    name: "workflow-studio/sample:1.0",
    files: sampleFiles(),
    entrypoint: ["/usr/local/bin/tool"],
    cmd: ["--flag"],
    env: { ZED: "last", ALPHA: "a=b" },
    user: "1000:1000",
    workdir: "/tmp",
    ...overrides,
  };
}

describe("writeImageArchive: an OCI image layout in a tar", () => {
  let result: { digest: string; reference: string };
  let layout: string;
  const blob = (digest: string) => readFileSync(join(layout, "blobs", "sha256", digest.replace("sha256:", "")));
  const json = <T>(digest: string) => JSON.parse(blob(digest).toString()) as T;
  let index: { schemaVersion: number; manifests: Descriptor[] };
  let manifest: { schemaVersion: number; mediaType: string; config: Descriptor; layers: Descriptor[] };

  beforeAll(async () => {
    const dir = freshDir();
    result = await writeImageArchive(sampleSpec(), join(dir, "image.tar"));
    layout = join(dir, "layout");
    mkdirSync(layout);
    tar(["-xf", join(dir, "image.tar"), "-C", layout]);
    index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    manifest = json(index.manifests[0]?.digest ?? "");
  });

  it("has the oci-layout file and an index naming the image as containerd would", () => {
    expect(JSON.parse(readFileSync(join(layout, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    expect(result.reference).toBe("docker.io/workflow-studio/sample:1.0");
    expect(index.schemaVersion).toBe(2);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]).toMatchObject({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: result.digest,
      platform: { architecture, os: "linux" },
      annotations: {
        "io.containerd.image.name": "docker.io/workflow-studio/sample:1.0",
        "org.opencontainers.image.ref.name": "1.0",
      },
    });
  });

  it("every blob is named by its sha256 and every descriptor matches the blob's digest and size", () => {
    const names = readdirSync(join(layout, "blobs", "sha256"));
    expect(names).toHaveLength(3);
    for (const name of names) expect(sha256(blob(name))).toBe(`sha256:${name}`);
    const descriptors = [index.manifests[0], manifest.config, manifest.layers[0]];
    for (const descriptor of descriptors) {
      expect(descriptor).toBeDefined();
      expect(blob(descriptor?.digest ?? "").length).toBe(descriptor?.size);
    }
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json" },
    });
    expect(manifest.layers.map((layer) => layer.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar"]);
  });

  it("the config names the uncompressed layer as its diff_id and carries the process settings", () => {
    const config = json<Record<string, unknown>>(manifest.config.digest);
    expect(config).toEqual({
      architecture,
      os: "linux",
      config: {
        User: "1000:1000",
        Env: ["ALPHA=a=b", "ZED=last"],
        Entrypoint: ["/usr/local/bin/tool"],
        Cmd: ["--flag"],
        WorkingDir: "/tmp",
      },
      rootfs: { type: "layers", diff_ids: [manifest.layers[0]?.digest] },
    });
  });

  it("the layer holds the files, with their modes, root's ownership, mtime 0 and parents first", () => {
    const layerFile = join(layout, "blobs", "sha256", (manifest.layers[0]?.digest ?? "").replace("sha256:", ""));
    const listing = tar(["--numeric-owner", "-tvf", layerFile])
      .trim()
      .split("\n")
      .map((line) => {
        const [mode, owner, , date, time, ...rest] = line.split(/\s+/);
        expect(`${owner} ${date} ${time}`, line).toBe("0/0 1970-01-01 00:00");
        return `${mode} ${rest.join(" ")}`;
      });
    expect(listing).toEqual([
      "drwxr-xr-x data/",
      "-rw------- data/secret",
      "drwxr-xr-x etc/",
      "-rw-r--r-- etc/motd",
      "drwxr-xr-x opt/",
      `drwxr-xr-x opt/${"d".repeat(60)}/`,
      `drwxr-xr-x opt/${"d".repeat(60)}/${"e".repeat(60)}/`,
      `-rw-r--r-- ${longPath.slice(1)}`,
      "drwxrwxrwt tmp/",
      "drwxr-xr-x usr/",
      "drwxr-xr-x usr/bin/",
      "lrwxrwxrwx usr/bin/tool -> ../local/bin/tool",
      "drwxr-xr-x usr/local/",
      "drwxr-xr-x usr/local/bin/",
      "-rwxr-x--- usr/local/bin/tool",
    ]);

    const root = freshDir();
    tar(["-xpf", layerFile, "-C", root]);
    expect(readFileSync(join(root, "etc/motd"), "utf8")).toBe("hello\n");
    expect(readFileSync(join(root, "usr/local/bin/tool"))).toEqual(readFileSync(hostFile));
    expect(readlinkSync(join(root, "usr/bin/tool"))).toBe("../local/bin/tool");
    expect(readFileSync(join(root, "usr/bin/tool"), "utf8")).toContain("echo tool");
    expect(readFileSync(join(root, longPath), "utf8")).toBe("long");
    expect(statSync(join(root, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(root, "data/secret")).mode & 0o7777).toBe(0o600);
  });
});

describe("writeImageArchive: reproducible", () => {
  it("the same inputs give the same bytes, whatever the order of files and env", async () => {
    const dir = freshDir();
    const first = await writeImageArchive(sampleSpec(), join(dir, "a.tar"));
    const reordered = sampleSpec({ files: sampleFiles().reverse(), env: { ALPHA: "a=b", ZED: "last" } });
    const second = await writeImageArchive(reordered, join(dir, "b.tar"));
    expect(second).toEqual(first);
    expect(readFileSync(join(dir, "b.tar")).equals(readFileSync(join(dir, "a.tar")))).toBe(true);
  });

  it("a changed byte or setting gives another digest", async () => {
    const dir = freshDir();
    const base = await writeImageArchive(sampleSpec(), join(dir, "base.tar"));
    const files = sampleFiles().map((file) =>
      file.path === "/etc/motd" ? { ...file, content: Buffer.from("hellO\n") } : file,
    );
    const changedFile = await writeImageArchive(sampleSpec({ files }), join(dir, "file.tar"));
    const changedCmd = await writeImageArchive(sampleSpec({ cmd: ["--other"] }), join(dir, "cmd.tar"));
    expect(new Set([base.digest, changedFile.digest, changedCmd.digest]).size).toBe(3);
  });

  it("replaces an existing archive and leaves no working files behind", async () => {
    const dir = freshDir();
    const out = join(dir, "image.tar");
    writeFileSync(out, "stale");
    await writeImageArchive(sampleSpec(), out);
    expect(readdirSync(dir)).toEqual(["image.tar"]);
    expect(statSync(out).size).toBeGreaterThan(1024);
  });
});

describe("writeImageArchive: refuses what it cannot build, and writes nothing then", () => {
  const refusals: [string, Partial<ImageSpec>, RegExp][] = [
    ["an untagged name", { name: "workflow-studio/sample" }, /has no tag/],
    ["a digest", { name: `workflow-studio/sample:1@sha256:${"a".repeat(64)}` }, /not a digest/],
    ["an uppercase name", { name: "workflow-studio/Sample:1" }, /must be lowercase/],
    ["a relative path", { files: [{ path: "etc/motd", content: Buffer.from("") }] }, /"etc\/motd" is not absolute/],
    ["a '..' in a path", { files: [{ path: "/etc/../motd", content: Buffer.from("") }] }, /is not normalised/],
    ["a trailing slash", { files: [{ path: "/etc/", directory: true }] }, /is not normalised/],
    [
      "a path given twice",
      {
        files: [
          { path: "/etc/motd", content: Buffer.from("a") },
          { path: "/etc/motd", symlink: "x" },
        ],
      },
      /\/etc\/motd is given twice/,
    ],
    [
      "a file inside a file",
      {
        files: [
          { path: "/etc", content: Buffer.from("a") },
          { path: "/etc/motd", content: Buffer.from("b") },
        ],
      },
      /\/etc is a file, but \/etc\/motd is inside it/,
    ],
    ["no kind", { files: [{ path: "/etc/motd" }] }, /exactly one of .* \(got none\)/],
    [
      "two kinds",
      { files: [{ path: "/etc/motd", content: Buffer.from(""), symlink: "x" }] },
      /exactly one of .* \(got content, symlink\)/,
    ],
    ["a missing source", { files: [{ path: "/bin/x", source: join(work, "absent") }] }, /cannot read its source/],
    ["a directory as source", { files: [{ path: "/bin/x", source: work }] }, /is not a regular file/],
    // A /proc file claims size 0 and then has bytes: the header would lie about the body.
    ["a source that changes size", { files: [{ path: "/x", source: "/proc/self/status" }] }, /changed size/],
    ["a bad mode", { files: [{ path: "/x", content: Buffer.from(""), mode: 0o10000 }] }, /not within 0..0o7777/],
    ["a name too long for ustar", { files: [{ path: `/${"x".repeat(120)}`, content: Buffer.from("") }] }, /too long/],
    ["a relative workdir", { workdir: "tmp" }, /workdir tmp is not absolute/],
    ["a bad env name", { env: { "A=B": "c" } }, /bad environment variable name/],
  ];

  it.each(refusals)("%s", async (_, overrides, message) => {
    const dir = freshDir();
    await expect(writeImageArchive(sampleSpec({ files: [], ...overrides }), join(dir, "image.tar"))).rejects.toThrow(
      message,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("normaliseImageName: containerd's names", () => {
  it.each([
    ["minio:1", "docker.io/library/minio:1"],
    ["minio", "docker.io/library/minio:latest"],
    ["workflow-studio/minio:x", "docker.io/workflow-studio/minio:x"],
    ["docker.io/workflow-studio/minio:x", "docker.io/workflow-studio/minio:x"],
    ["index.docker.io/minio:x", "docker.io/library/minio:x"],
    ["registry.example:5000/a/b:t", "registry.example:5000/a/b:t"],
    ["localhost/a:t", "localhost/a:t"],
    ["localhost:5000/a", "localhost:5000/a:latest"],
    [`minio@sha256:${"0".repeat(64)}`, `docker.io/library/minio@sha256:${"0".repeat(64)}`],
    [`a/b:t@sha256:${"0".repeat(64)}`, `docker.io/a/b:t@sha256:${"0".repeat(64)}`],
  ])("%s -> %s", (name, normalised) => {
    expect(normaliseImageName(name)).toBe(normalised);
  });

  it.each([
    ["", /expected \[registry\/\]path/],
    ["Minio:1", /must be lowercase/],
    ["minio:bad tag", /expected/],
    ["a//b:1", /expected/],
    ["bad_host!/a:1", /expected/],
    ["a".repeat(64).replace(/a/g, "f"), /image id/],
    [`${"a".repeat(250)}:1`, /longer than 255/],
  ])("refuses %j", (name, message) => {
    expect(() => normaliseImageName(name)).toThrow(message);
  });
});

describe("nodeRuntimeFiles", () => {
  const files = nodeRuntimeFiles(process.execPath);
  const byPath = new Map(files.map((file) => [file.path, file]));

  it("copies the node binary to /usr/local/bin/node", () => {
    expect(byPath.get("/usr/local/bin/node")).toEqual({
      path: "/usr/local/bin/node",
      source: process.execPath,
      mode: 0o755,
    });
  });

  it("copies every library ldd lists, the loader and libc among them, at its own path", () => {
    const ldd = execFileSync("ldd", [process.execPath], { encoding: "utf8" });
    const listed = [...ldd.matchAll(/(\/\S+) \(0x[0-9a-f]+\)/g)].map((match) => match[1] ?? "");
    expect(listed.length).toBeGreaterThan(1);
    for (const library of listed) expect(byPath.get(library), library).toEqual({ path: library, source: library });
    expect(listed.some((library) => /\/ld-linux[^/]*\.so\.\d+$/.test(library))).toBe(true);
    expect(listed.some((library) => /\/libc\.so\.6$/.test(library))).toBe(true);
    for (const file of files) if (file.source) expect(existsSync(file.source), file.source).toBe(true);
  });

  it("has a world-writable /tmp and a passwd and group naming root and node (1000)", () => {
    expect(byPath.get("/tmp")).toEqual({ path: "/tmp", directory: true, mode: 0o1777 });
    const passwd = byPath.get("/etc/passwd")?.content?.toString() ?? "";
    expect(passwd.split("\n")).toEqual(
      expect.arrayContaining([expect.stringMatching(/^root:x:0:0:/), expect.stringMatching(/^node:x:1000:1000:/)]),
    );
    expect(byPath.get("/etc/group")?.content?.toString()).toMatch(/^root:x:0:\nnode:x:1000:\n$/);
  });

  it("refuses a binary ldd cannot read", () => {
    expect(() => nodeRuntimeFiles(join(work, "absent-node"))).toThrow(/ldd .* failed/);
  });
});

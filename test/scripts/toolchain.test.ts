import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(__dirname, "..", "..");
const pins = Object.fromEntries(
  readFileSync(join(root, "scripts", "toolchain", "versions.sh"), "utf8")
    .split("\n")
    .map((line) => /^([A-Z_]+)=([^\s$"]+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]),
);
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: root, encoding: "utf8" });

describe("toolchain", () => {
  it("a second setup run is a no-op: every step is cached", () => {
    // Never a build inside the suite: every part must already be complete (npm run setup, which
    // .ci/run runs first), and the run is cut off after a minute whatever happens.
    const cache = run("bash", ["-c", "source scripts/toolchain/versions.sh && echo $WSS_CACHE"]).trim();
    const parts = ["MINIO", "MC", "PULUMI", "KUBERNETES", "SCHEMATHESIS"].map((part) => {
      const dir = run("bash", ["-c", `source scripts/toolchain/versions.sh && echo $${part}_DIR`]).trim();
      return [part, existsSync(join(dir, ".complete"))] as const;
    });
    expect(
      parts.filter(([, complete]) => !complete),
      `incomplete parts under ${cache}: run npm run setup`,
    ).toEqual([]);
    const started = Date.now();
    const out = execFileSync("bash", ["scripts/toolchain/setup.sh"], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(out).not.toMatch(/building/);
    const steps = Number(
      /steps_total=(\d+)/.exec(readFileSync(join(root, "scripts", "toolchain", "setup.sh"), "utf8"))?.[1],
    );
    expect(out.match(/: (cached|the machine's)/g)?.length).toBe(steps);
    console.log(`second setup run: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("the Pulumi CLI is at the version of the npm SDK the project pins", () => {
    const sdk = JSON.parse(readFileSync(join(root, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8"));
    expect(pins.PULUMI_VERSION).toBe(sdk.version);
    expect(run("pulumi", ["version"]).trim()).toBe(`v${pins.PULUMI_VERSION}`);
  });

  it("MinIO and mc report the pinned commits", () => {
    const minioCommit = pins.MINIO_MODULE_VERSION?.split("-").at(-1);
    const mcCommit = pins.MC_MODULE_VERSION?.split("-").at(-1);
    expect(run("minio", ["--version"])).toContain(minioCommit);
    expect(run("mc", ["--version"])).toContain(mcCommit);
  });

  it("the Kubernetes plugin is installed under the exact version of the npm SDK", () => {
    const sdk = JSON.parse(readFileSync(join(root, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8"));
    expect(pins.KUBERNETES_PROVIDER_VERSION).toBe(sdk.version);
    const plugins = JSON.parse(run("pulumi", ["plugin", "ls", "--json"])) as { name: string; version: string }[];
    expect(plugins).toContainEqual(expect.objectContaining({ name: "kubernetes", version: sdk.version }));
  });

  it("the contract fuzzer is schemathesis at its pin, in a virtual environment of its own", () => {
    expect(run("st", ["--version"]).trim()).toBe(`st, version ${pins.SCHEMATHESIS_VERSION}`);
  });

  it("node is 22 or newer", () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(22);
  });
});

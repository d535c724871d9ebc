// The benchmark's accounting of where time goes: CPU from /proc, and a real V8 profile of a real
// bundle taken through its inspector, named by the bundle's source map.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import {
  busySeconds,
  connectProfiler,
  cpuMeter,
  cpuSeconds,
  cpuText,
  profileSummary,
  sourceNamer,
} from "../../bench/profile.mts";
import { waitForAnswer } from "../../scripts/harness/api-process.mts";
import { freePort } from "../../scripts/local-minio.mts";

const root = resolve(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "wss-profile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("CPU accounting", () => {
  it("counts the CPU a process spends, and this one as the client", () => {
    const before = cpuSeconds(process.pid);
    const spent = cpuMeter({ self: process.pid });
    // Busy for 0.3 s of CPU, not of wall time: on a loaded machine 0.3 s of wall time is less CPU.
    const start = process.cpuUsage();
    const used = () => {
      const { user, system } = process.cpuUsage(start);
      return user + system;
    };
    while (used() < 300_000) Math.sqrt(Math.random());
    const { self, client } = spent();
    expect(cpuSeconds(process.pid)).toBeGreaterThan(before);
    // Clock ticks of 10 ms against microseconds: the two agree to a few ticks.
    expect(self).toBeGreaterThan(0.2);
    expect(Math.abs((self as number) - (client as number))).toBeLessThan(0.1);
    expect(cpuText({ api: 1.25, minio: 0.5 }, 5)).toBe("API 0.25 s + MinIO 0.10 s");
  });
});

describe("profiles", () => {
  it("profiles a bundled process through its inspector and names its sources through the source map", async () => {
    // A bundle of a project file that spends half its time in a package, as the API's bundle does.
    const entry = join(root, "test", "bench", "fixtures", "busy.ts");
    const bundle = join(dir, "busy.js");
    await build({
      entryPoints: [entry],
      outfile: bundle,
      bundle: true,
      platform: "node",
      minify: true,
      sourcemap: "external",
    });
    const port = await freePort();
    const child = spawn(process.execPath, [`--inspect=127.0.0.1:${port}`, bundle], { stdio: "ignore" });
    try {
      await waitForAnswer(`http://127.0.0.1:${port}/json/list`, { what: "the inspector" });
      const profiler = await connectProfiler(port);
      // Profiled until the child has spent 0.4 s of CPU, however loaded the machine is.
      const pid = child.pid as number;
      const before = cpuSeconds(pid);
      const profile = await profiler.during(async () => {
        while (cpuSeconds(pid) - before < 0.4) await new Promise((r) => setTimeout(r, 50));
      });
      profiler.close();
      expect(busySeconds(profile)).toBeGreaterThan(0.2);
      const summary = profileSummary(profile, sourceNamer(root, `${bundle}.map`));
      expect(summary).toMatch(/^\d+\.\d s busy: /);
      // The busy loop's own file and the package it calls, by name, not the bundle's.
      expect(summary).toMatch(/test\/bench\/fixtures\/busy\.ts \d+%/);
      expect(summary).toMatch(/minio \d+%/);
      expect(summary).not.toContain("busy.js");
    } finally {
      child.kill();
      await once(child, "exit");
    }
  });

  it("names sources that are not the bundle's: Node.js' own, V8's, packages and files outside the project", () => {
    const name = sourceNamer(root);
    const frame = (url: string, functionName = "f") => ({ functionName, url, lineNumber: 0, columnNumber: 0 });
    expect(name(frame("node:internal/streams/readable"))).toBe("node:streams");
    expect(name(frame("node:net"))).toBe("node:net");
    expect(name(frame("", "(garbage collector)"))).toBe("garbage collector");
    expect(name(frame("", "writev"))).toBe("writev");
    expect(name(frame(`file://${root}/node_modules/@pulumi/pulumi/output.js`))).toBe("@pulumi/pulumi");
    expect(name(frame(`file://${root}/components/cold-tier.ts`))).toBe("components/cold-tier.ts");
    expect(name(frame("file:///somewhere/else.js"))).toBe("other files");
  });
});

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEphemeralStack, type EphemeralStack } from "../helpers/engine";

// Every plugin the program needs is built by the toolchain; a missing one is an error, never a
// download (our machines reach no plugin host, and CI must not depend on one).
describe("Pulumi never downloads a plugin", () => {
  let eph: EphemeralStack;

  beforeAll(async () => {
    eph = await createEphemeralStack(join(__dirname, "fixtures", "missing-plugin"), {});
  });
  afterAll(async () => eph?.dispose());

  it("a program needing a plugin that is not installed fails naming it, and nothing is fetched", async () => {
    const started = Date.now();
    const failure = await eph.stack.preview().then(
      () => undefined,
      (err: Error) => err.message,
    );
    // The engine's answer when it may not fetch; when it may, it looks up the latest release
    // online first ("could not find latest version ... releases/latest") and fails on the network.
    expect(failure).toContain("no resource plugin 'pulumi-resource-random' found");
    expect(failure).not.toMatch(/latest version|releases|Downloading/i);
    // A failed download would have waited for the network first.
    expect(Date.now() - started).toBeLessThan(60_000);
    const plugins = join(process.env.PULUMI_HOME ?? "", "plugins");
    const installed = existsSync(plugins) ? readdirSync(plugins) : [];
    expect(installed.filter((name) => name.includes("random"))).toEqual([]);
  });
});

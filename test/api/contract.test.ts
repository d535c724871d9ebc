// The OpenAPI document is the contract: schemathesis (kept in the toolchain) fuzzes every operation
// of the served document against the real server on a real MinIO, run as the deployed user, with a
// valid key and without one. Every check: no 5xx, no undocumented status, no schema-valid request
// refused, no schema-breaking request accepted, every response valid against its schema, 405 for
// undeclared methods; and a stateful phase that follows the document's links (upload -> download
// link, save artifacts -> list them) so the fuzzer reaches the core logic, not just the 404s.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, type Harness, startHarness } from "./support";

let h: Harness;
let base: string;
let dir: string;
let schema: string;

beforeAll(async () => {
  h = await startHarness();
  await h.app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), "wss-contract-"));
  schema = join(dir, "openapi.json");
  writeFileSync(schema, await (await fetch(`${base}/openapi.json`, { headers: auth })).text());
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the fuzzer (asynchronously: the server answers from this process); answers its exit status
 * and its report (the failures, each with a curl command to replay it).
 */
function fuzz(extra: string[], examples: number): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(
      "st",
      [
        "--config-file",
        join(__dirname, "contract", "schemathesis.toml"),
        "run",
        schema,
        "--url",
        base,
        "--checks",
        "all",
        "--max-examples",
        String(examples),
        // Reproducible in CI; a failure names its seed and test case to replay.
        "--seed",
        "20261129",
        "--workers",
        "1",
        "--no-color",
        ...extra,
      ],
      {
        encoding: "utf8",
        cwd: dir,
        timeout: 240_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, NO_COLOR: "1" },
      },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ status, output: `${stdout}\n${stderr}` });
      },
    );
  });
}

describe("the OpenAPI document is the contract", () => {
  it("every operation, fuzzed with a valid key, including the linked (stateful) phase", async () => {
    const { status, output } = await fuzz(["--header", `Authorization: ${auth.authorization}`], 25);
    // The fuzzer's own summary (phases, checks, cases) in the test log, without its pytest-style
    // "=== 1 warning in 18s ===" rule: CI readers take such a line for a test runner that ran nothing.
    const summary = output.slice(output.lastIndexOf("SUMMARY"));
    console.log(summary.replace(/^=+ .* =+$/gm, "").trim());
    expect(status, output).toBe(0);
    expect(output).toMatch(/Stateful/);
    expect(output).not.toMatch(/Stateful \(not applicable\)/);
  });

  it("every operation, fuzzed without a key: 401 where the document says a key is needed", async () => {
    const { status, output } = await fuzz(["--phases", "examples,coverage,fuzzing"], 10);
    expect(status, output).toBe(0);
  });
});

// `npm run local` as a user runs it, in a folder and on ports of its own (so a developer's own local
// stack is left alone): up from nothing, the printed curl works, a rerun changes nothing, status,
// down, and destroy, which leaves nothing behind.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/local-minio.mts";

const root = join(__dirname, "..", "..");
let dir: string;
let env: NodeJS.ProcessEnv;
let api: string;

const local = (command: string) =>
  execFileSync("bash", ["scripts/local.sh", command], { cwd: root, env, encoding: "utf8", timeout: 300_000 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "wss-local-"));
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  env = { ...process.env, WSS_LOCAL_DIR: dir, WSS_LOCAL_MINIO_PORT: "0", WSS_LOCAL_API_PORT: String(port) };
});
afterAll(() => {
  // Whatever happened, leave no process and no folder behind.
  if (existsSync(dir)) {
    try {
      local("destroy");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

describe("npm run local", () => {
  let key: string;

  it("up from nothing: prints a working curl whose download link downloads the same bytes", async () => {
    const out = local("up");
    expect(out).toContain(`API               ${api}`);
    const curl = /curl -sS -H 'Authorization: Bearer ([^']+)' -F file=@README.md (\S+)\/upload/.exec(out);
    expect(curl?.[2]).toBe(api);
    key = curl?.[1] as string;
    const form = new FormData();
    form.append("file", new Blob(["local stack bytes"], { type: "text/plain" }), "hello.txt");
    const res = await fetch(`${api}/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    expect(res.status).toBe(200);
    const { download_url } = (await res.json()) as { download_url: string };
    expect(await (await fetch(download_url)).text()).toBe("local stack bytes");
  });

  it("serves the upload page, and a resumable session goes from parts to a download", async () => {
    const page = await fetch(`${api}/upload-page`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/v1/uploads/sessions");
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const bytes = Buffer.from("resumable bytes, in one part");
    const created = await fetch(`${api}/v1/uploads/sessions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ filename: "part.bin", content_type: "application/octet-stream", size: bytes.length }),
    });
    expect(created.status).toBe(201);
    const { session_id } = (await created.json()) as { session_id: string };
    const links = await fetch(`${api}/v1/uploads/sessions/${session_id}/parts`, {
      method: "POST",
      headers,
      body: JSON.stringify({ part_numbers: [1] }),
    });
    const [link] = ((await links.json()) as { parts: { url: string }[] }).parts;
    expect((await fetch(link?.url as string, { method: "PUT", body: bytes })).status).toBe(200);
    const done = await fetch(`${api}/v1/uploads/sessions/${session_id}/complete`, {
      method: "POST",
      headers: { authorization: headers.authorization },
    });
    expect(done.status).toBe(201);
    const { download_url } = (await done.json()) as { download_url: string };
    expect(Buffer.from(await (await fetch(download_url)).arrayBuffer())).toEqual(bytes);
  });

  it("a rerun changes nothing and serves on", async () => {
    const out = local("up");
    expect(out).toMatch(/\d+ unchanged/);
    expect(out).not.toMatch(/\+ \d+ (to )?create|~ \d+ (to )?update|- \d+ (to )?delete/);
    expect((await fetch(`${api}/readyz`)).status).toBe(200);
  });

  it("status shows what runs; down stops the API and MinIO and keeps the data", async () => {
    expect(local("status")).toMatch(/API: running \(pid \d+\)/);
    expect(local("down")).toContain("stopped");
    expect(local("status")).toContain("API: stopped");
    await expect(fetch(`${api}/healthz`)).rejects.toThrow();
    expect(existsSync(join(dir, "pulumi-state"))).toBe(true);
  });

  it("destroy removes the stack and the folder", () => {
    expect(local("destroy")).toContain("destroyed");
    expect(existsSync(dir)).toBe(false);
  });
});

// The upload page in a real browser (headless Chromium): a 64 MiB file in parallel presigned parts,
// the page reloaded with one part still in flight, the same file chosen again, the upload resumed
// from the parts MinIO holds and completed; the downloaded bytes are the file's. The API runs as the
// deployed user; the parts go from the browser straight to MinIO.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Browser, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/browser";
import { API_KEY, type Harness, MiB, OTHER_KEY, pendingUploadsUnder, startHarness } from "./support";

const SIZE = 64 * MiB;
const PART = 5 * MiB; // 13 parts
const HELD_PART = 7;

/**
 * The page's globals, for functions that run in the page: this project's TypeScript has no DOM
 * types, and the page's CSP allows no string evaluation, so these are real functions that cast
 * `globalThis` (types vanish when the function is sent to the page).
 */
type PageGlobals = {
  document: { getElementById(id: string): { dataset: Record<string, string | undefined> } | null };
  localStorage: Record<string, string> & { getItem(key: string): string | null };
};

describe("the upload page, in headless Chromium", () => {
  let h: Harness;
  let app: FastifyInstance;
  let pageUrl: string;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let file: string;
  const data = randomBytes(SIZE);
  const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
  /** Part PUTs the browser sent to MinIO, by part number. */
  const partPuts: number[] = [];

  beforeAll(async () => {
    h = await startHarness({ MULTIPART_PART_BYTES: String(PART), MAX_UPLOAD_BYTES: String(128 * MiB) });
    app = await h.appWith({ UPLOAD_PAGE: "true" });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    pageUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/upload-page`;
    dir = mkdtempSync(join(tmpdir(), "wss-page-"));
    file = join(dir, "model weights.bin");
    writeFileSync(file, data);
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("request", (request) => {
      const part = new URL(request.url()).searchParams.get("partNumber");
      if (request.method() === "PUT" && part) partPuts.push(Number(part));
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Chooses the file and starts the upload, as a person does. */
  async function chooseAndUpload(): Promise<void> {
    await page.fill("#key", API_KEY);
    await page.setInputFiles("#file", file);
    await page.click("#start");
  }

  it("uploads in parallel parts; reloaded with a part in flight, it resumes, sending only what is missing", async () => {
    // One part never gets its answer: the page is reloaded while it is in flight.
    let held: Route | undefined;
    await page.route(`**/*partNumber=${HELD_PART}&*`, (route) => {
      held = route;
    });
    await page.goto(pageUrl);
    await chooseAndUpload();
    await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).document.getElementById("progress")?.dataset.partsDone === "12",
      undefined,
      {
        timeout: 60_000,
      },
    );
    expect(held).toBeDefined();
    // The page can read each part's ETag: MinIO exposes it across origins (the page is on the API's).
    const etag = await page.evaluate(
      () => (globalThis as unknown as PageGlobals).document.getElementById("progress")?.dataset.lastEtag,
    );
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(new Set(partPuts).size).toBe(13);
    const saved = await page.evaluate(() => {
      const { localStorage } = globalThis as unknown as PageGlobals;
      return Object.keys(localStorage)
        .filter((k) => k.startsWith("upload-session:"))
        .map((k) => localStorage.getItem(k) ?? "");
    });
    expect(saved).toHaveLength(1);
    const sessionId = JSON.parse(saved[0] as string).session_id as string;

    // Another key cannot see or complete this session.
    for (const [method, rest] of [
      ["GET", "/parts"],
      ["POST", "/complete"],
    ] as const) {
      const res = await app.inject({
        method,
        url: `/v1/uploads/sessions/${sessionId}${rest}`,
        headers: { authorization: `Bearer ${OTHER_KEY}` },
      });
      expect(res.statusCode).toBe(404);
    }

    // Reload first: the held part dies with the page. Unrouting first would let it through, and the
    // old page would complete the upload before the reload.
    await page.reload();
    await page.unroute(`**/*partNumber=${HELD_PART}&*`);
    partPuts.length = 0;
    await chooseAndUpload();
    await page.waitForSelector("#download:not([hidden])", { timeout: 60_000 });
    expect(await page.textContent("#status")).toMatch(/^Done: uploads\//);
    // Resumed: only the part that never arrived was sent again.
    expect(partPuts).toEqual([HELD_PART]);

    const link = (await page.getAttribute("#download", "href")) as string;
    const downloaded = Buffer.from(await (await fetch(link)).arrayBuffer());
    expect(downloaded.length).toBe(SIZE);
    expect(sha256(downloaded)).toBe(sha256(data));
    expect(await page.textContent("#download")).toBe("Download model weights.bin");
    expect(await pendingUploadsUnder(h.client, h.config.buckets.uploads, "uploads/")).toEqual([]);
    // The finished session is forgotten: choosing the file again starts a new upload.
    const left = await page.evaluate(() =>
      Object.keys((globalThis as unknown as PageGlobals).localStorage).filter((k) => k.startsWith("upload-session:")),
    );
    expect(left).toEqual([]);
  }, 120_000);
});

import { execFileSync } from "node:child_process";
import { type Browser, chromium } from "playwright-core";

/** The Chromium setup.sh found or installed: CHROMIUM_PATH, or the first on PATH. */
export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    } catch {
      // not this one
    }
  }
  throw new Error("no Chromium: run npm run setup, or set CHROMIUM_PATH");
}

/**
 * Headless Chromium that talks only to the pages a test opens: no background networking, component
 * updates, sync or QUIC (each would try to reach the internet), a fresh profile each time.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--disable-domain-reliability",
    ],
  });
}

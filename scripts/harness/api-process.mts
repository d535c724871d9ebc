// The API as deployed, run from its bundle as a child process: what the benchmark measures and the
// fault suite signals (SIGTERM, SIGKILL) and starts again. One owner for starting it and for knowing
// when it answers.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

export interface ApiProcess {
  /** Where it listens, e.g. http://127.0.0.1:PORT. */
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code (null after a signal) once the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Starts `node <bundle>` with `env` (PATH added) on loopback `port`, and waits until /readyz answers
 * 200 (or `ready: "listening"`: any answer, for an API whose MinIO is not there yet).
 */
export async function startApiProcess(
  bundle: string,
  env: Record<string, string>,
  options: {
    port: number;
    ready?: "ready" | "listening";
    stdout?: "ignore" | "inherit" | number;
    /** Options for node itself, before the bundle (e.g. --inspect for the benchmark's profiles). */
    nodeArgs?: string[];
  },
): Promise<ApiProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), bundle], {
    env: { PATH: process.env.PATH ?? "", ...env, HOST: "127.0.0.1", PORT: String(options.port) },
    stdio: ["ignore", options.stdout ?? "ignore", options.stdout === undefined ? "inherit" : options.stdout],
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const url = `http://127.0.0.1:${options.port}`;
  await waitForAnswer(`${url}/readyz`, {
    ok: options.ready === "listening" ? () => true : (status) => status === 200,
    gone: () => child.exitCode !== null || child.signalCode !== null,
    what: "the API",
  });
  return { url, child, exited };
}

/**
 * Polls `url` until `ok(status)` holds, the process is `gone`, or `timeoutMs` passes; each attempt
 * has a 2 s deadline of its own.
 */
export async function waitForAnswer(
  url: string,
  options: { ok?: (status: number) => boolean; gone?: () => boolean; what?: string; timeoutMs?: number } = {},
): Promise<void> {
  const ok = options.ok ?? ((status: number) => status < 500);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (options.gone?.()) throw new Error(`${options.what ?? url} exited before it answered`);
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) }).catch((err: Error) => err);
    if (!(res instanceof Error)) {
      await res.body?.cancel();
      if (ok(res.status)) return;
      last = `HTTP ${res.status}`;
    } else last = res.message;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${options.what ?? url} did not answer as expected within ${timeoutMs} ms (${last})`);
}

// The steady mix the fault suite drives through the API while it breaks things: uploads of several
// sizes (some due for the cold tier, some in several parts), artifact saves, download links for
// acknowledged objects, and downloads through those links. Every request is recorded with what it
// sent (names and SHA-256) and what it was answered, for the checks against MinIO afterwards.
import { createHash, randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { fileForm, multipartBody } from "../scripts/harness/multipart-body.mts";
import { uniqueName } from "./environment.mts";

export type Operation = "upload" | "artifacts" | "presign" | "download";

/** An object a write sent: where the answer says it is, and the digest it must have there. */
export interface SentObject {
  /** The file name sent (holds the request's marker). */
  name: string;
  sha256: string;
  size: number;
  /** From a 2xx answer: the bucket and key the API stored it under. */
  bucket?: string;
  key?: string;
}

export interface Outcome {
  op: Operation;
  /** Unique per request: in its file names and execution id, so its objects can be found. */
  marker: string;
  /** The scenario phase it started in: before, during or after the fault. */
  phase: string;
  startedAt: number;
  ms: number;
  /** The HTTP status, or undefined when no answer came (refused connection, reset, timeout). */
  status?: number;
  retryAfter?: string;
  /** The error code of a refused request's body ({error: {code}}). */
  code?: string;
  /** No answer: what the client saw. */
  error?: string;
  /** No answer within the client's deadline. */
  hung: boolean;
  /** Writes: what was sent (and, after a 2xx, where it is). */
  objects: SentObject[];
  /** Reads: the object asked for, and whether the bytes matched (downloads). */
  target?: { bucket: string; key: string; sha256: string };
  mismatch?: boolean;
  /** Which server answered a download: MinIO (through the link) rather than the API. */
  answeredBy: "api" | "minio";
  /** The client stopped sending mid-body on purpose: the API closing its connection is the contract. */
  clientStalled?: boolean;
}

export const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

const KiB = 1024;
const MiB = 1024 * KiB;
/** Upload sizes and their weights: small, medium, and large ones (due for the cold tier, several parts). */
const UPLOAD_SIZES = [
  [16 * KiB, 4],
  [256 * KiB, 3],
  [2 * MiB, 2],
  [7 * MiB, 1],
] as const;
/** Random bytes the bodies are cut from (at random offsets, so no two bodies are the same). */
const POOL = randomBytes(8 * MiB);

function body(size: number): Buffer {
  const offset = Math.floor(Math.random() * (POOL.length - size));
  const data = Buffer.from(POOL.subarray(offset, offset + size));
  // The first bytes differ every time, whatever the offset.
  randomBytes(16).copy(data);
  return data;
}

/** A request's record before it is sent. */
function newOutcome(op: Operation, phase: string): Outcome {
  return {
    op,
    marker: uniqueName(op),
    phase,
    startedAt: Date.now(),
    ms: 0,
    hung: false,
    objects: [],
    answeredBy: "api",
  };
}

function pick<T>(weighted: readonly (readonly [T, number])[]): T {
  const total = weighted.reduce((sum, [, w]) => sum + w, 0);
  let r = Math.random() * total;
  for (const [value, w] of weighted) {
    r -= w;
    if (r < 0) return value;
  }
  return (weighted[0] as readonly [T, number])[0];
}

export interface LoadOptions {
  /** The API's URL now (it changes port never, but the process may be replaced). */
  apiUrl: string;
  apiKey: string;
  /** Where artifact saves land (their answer names files by path only). */
  artifactsBucket: string;
  /** Requests in flight at once. */
  workers: number;
  /** A request with no answer after this long counts as hung (above the API's own deadlines). */
  timeoutMs: number;
}

/** Sends requests with `workers` loops until `stop`; records every outcome. */
export class Load {
  readonly outcomes: Outcome[] = [];
  /** The phase new requests are recorded under. */
  phase = "before";
  private readonly readable: { bucket: string; key: string; sha256: string }[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  private readonly options: LoadOptions;

  constructor(options: LoadOptions) {
    this.options = options;
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.options.workers }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const op: Operation =
        this.readable.length === 0
          ? "upload"
          : pick([
              ["upload", 4],
              ["artifacts", 2],
              ["presign", 2],
              ["download", 2],
            ] as const);
      const outcome = await this.send(op);
      this.outcomes.push(outcome);
      // A refused or unanswered request is not retried at once: a client backs off.
      if (!(outcome.status && outcome.status < 300)) await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** One request of `op`, recorded; never throws. */
  async send(op: Operation): Promise<Outcome> {
    const outcome = newOutcome(op, this.phase);
    try {
      if (op === "upload") await this.upload(outcome);
      else if (op === "artifacts") await this.artifacts(outcome);
      else await this.read(outcome, op === "download");
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      outcome.hung = e.name === "TimeoutError";
      outcome.error = e.cause?.code ?? e.name ?? e.message;
    }
    outcome.ms = Date.now() - outcome.startedAt;
    return outcome;
  }

  private async call(outcome: Outcome, path: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(`${this.options.apiUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${this.options.apiKey}`, ...(init.headers as Record<string, string>) },
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    outcome.status = res.status;
    outcome.retryAfter = res.headers.get("retry-after") ?? undefined;
    return res;
  }

  private async answer<T>(outcome: Outcome, res: Response): Promise<T | undefined> {
    const json = (await res.json().catch(() => undefined)) as (T & { error?: { code?: string } }) | undefined;
    if (res.ok) return json;
    outcome.code = json?.error?.code;
    return undefined;
  }

  private async upload(outcome: Outcome): Promise<void> {
    const data = body(pick(UPLOAD_SIZES));
    const sent: SentObject = { name: `${outcome.marker}.bin`, sha256: sha256(data), size: data.length };
    outcome.objects.push(sent);
    const form = fileForm(sent.name, data);
    const res = await this.call(outcome, "/v1/uploads", {
      method: "POST",
      headers: { "content-type": form.contentType },
      body: form.body,
    });
    const stored = await this.answer<{ bucket: string; file_path: string }>(outcome, res);
    if (!stored) return;
    sent.bucket = stored.bucket;
    sent.key = stored.file_path;
    this.readable.push({ bucket: stored.bucket, key: stored.file_path, sha256: sent.sha256 });
  }

  private async artifacts(outcome: Outcome): Promise<void> {
    const result = { marker: outcome.marker, ok: true };
    const files = [body(32 * KiB), body(600 * KiB)];
    outcome.objects.push(
      // result.json is stored indented by 2 (api/README.md): its digest is known before the answer.
      { name: "result.json", sha256: sha256(JSON.stringify(result, null, 2)), size: 0 },
      ...files.map((data, i) => ({ name: `out-${i}-${outcome.marker}.bin`, sha256: sha256(data), size: data.length })),
    );
    const form = multipartBody([
      { name: "result", contentType: "application/json", data: JSON.stringify(result) },
      ...files.map((data, i) => ({
        name: "files",
        filename: `out-${i}-${outcome.marker}.bin`,
        contentType: "application/octet-stream",
        data,
      })),
    ]);
    const res = await this.call(outcome, `/v1/executions/${outcome.marker}/artifacts`, {
      method: "POST",
      headers: { "content-type": form.contentType },
      body: form.body,
    });
    type Stored = { file_path: string; name: string };
    const saved = await this.answer<{ result: Stored; files: Stored[] }>(outcome, res);
    if (!saved) return;
    const bucket = this.options.artifactsBucket;
    for (const stored of [saved.result, ...saved.files]) {
      const sent = outcome.objects.find((o) => o.name === stored.name);
      if (!sent) continue;
      sent.bucket = bucket;
      sent.key = stored.file_path;
      this.readable.push({ bucket, key: stored.file_path, sha256: sent.sha256 });
    }
  }

  /** A download link for an acknowledged object; with `download`, its bytes through the link too. */
  private async read(outcome: Outcome, download: boolean): Promise<void> {
    const target = this.readable[Math.floor(Math.random() * this.readable.length)] as Outcome["target"] & {};
    outcome.target = target;
    const res = await this.call(outcome, `/v1/objects/${target.bucket}/url?key=${encodeURIComponent(target.key)}`);
    const link = await this.answer<{ url: string }>(outcome, res);
    if (!link || !download) return;
    outcome.answeredBy = "minio";
    const got = await fetch(link.url, { signal: AbortSignal.timeout(this.options.timeoutMs) });
    outcome.status = got.status;
    outcome.retryAfter = got.headers.get("retry-after") ?? undefined;
    if (!got.ok) {
      // MinIO's own error code, from its XML answer (<Code>…</Code>).
      outcome.code = (await got.text()).match(/<Code>([^<]+)<\/Code>/)?.[1];
      return;
    }
    outcome.mismatch = sha256(Buffer.from(await got.arrayBuffer())) !== target.sha256;
  }
}

/**
 * An upload whose body goes out at `bytesPerSecond` (a slow client), or stops after `stopAfter`
 * bytes and keeps the connection open (a client that stalls mid-body). Answers the outcome once the
 * API answers or closes the connection.
 */
export async function throttledUpload(
  options: LoadOptions,
  phase: string,
  size: number,
  bytesPerSecond: number,
  stopAfter = Number.POSITIVE_INFINITY,
): Promise<Outcome> {
  const outcome = newOutcome("upload", phase);
  if (Number.isFinite(stopAfter)) outcome.clientStalled = true;
  const data = body(size);
  const sent: SentObject = { name: `${outcome.marker}.bin`, sha256: sha256(data), size };
  outcome.objects.push(sent);
  const form = fileForm(sent.name, data);
  const url = new URL("/v1/uploads", options.apiUrl);
  await new Promise<void>((resolve) => {
    const req = httpRequest(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        "content-type": form.contentType,
        "content-length": form.body.length,
      },
    });
    const deadline = setTimeout(() => {
      outcome.hung = true;
      req.destroy(new Error("no answer within the client's deadline"));
    }, options.timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(deadline);
      clearTimeout(timer);
      resolve();
    };
    req.on("response", (res) => {
      outcome.status = res.statusCode;
      outcome.retryAfter = res.headers["retry-after"] as string | undefined;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        try {
          const json = JSON.parse(Buffer.concat(chunks).toString()) as {
            bucket?: string;
            file_path?: string;
            error?: { code?: string };
          };
          if (res.statusCode && res.statusCode < 300) {
            sent.bucket = json.bucket;
            sent.key = json.file_path;
          } else outcome.code = json.error?.code;
        } catch {
          // Not JSON: the status says enough.
        }
        finish();
      });
      res.on("error", finish);
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      outcome.error ??= err.code ?? err.message;
      finish();
    });
    // Slices every 100 ms at the given rate.
    const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
    let offset = 0;
    const sendNext = () => {
      if (req.destroyed) return;
      const end = Math.min(form.body.length, offset + slice, stopAfter);
      if (end > offset) req.write(form.body.subarray(offset, end));
      offset = end;
      if (offset >= form.body.length) req.end();
      else if (offset < stopAfter) timer = setTimeout(sendNext, 100);
      // else: stalled on purpose, the connection stays open until the API closes it.
    };
    sendNext();
  });
  outcome.ms = Date.now() - outcome.startedAt;
  return outcome;
}

// What a fault left, checked against MinIO itself (root credentials, read only) once it is over:
// every acknowledged write readable with its SHA-256, nothing visible from a write that was refused,
// no incomplete multipart upload left by a request the API answered, and how the API answered while
// the fault lasted.
import type * as Minio from "minio";
import { type Outcome, sha256 } from "./load.mts";

export interface Verdict {
  sent: number;
  /** Writes answered 2xx. */
  acknowledged: number;
  /** Acknowledged objects not readable with their digest once the fault was over (must be 0). */
  lost: string[];
  /** Acknowledged objects that read back only after a wait: read-after-write did not hold for a while. */
  late: { key: string; seconds: number }[];
  /** Requests refused with 503 and Retry-After: the documented answer while storage is unavailable. */
  refused: number;
  /** Other answers, by status and code (each must be a documented one). */
  otherAnswers: Record<string, number>;
  /** Requests with no answer: the connection was refused (the API down) or cut without an answer. */
  unanswered: number;
  /** Of those, connections cut without an answer (reset, closed) rather than refused. */
  reset: number;
  /** What the client saw for those, by error code. */
  unansweredErrors: Record<string, number>;
  /** The cut ones: what they were, and how long after they started (the timeout that cut them shows). */
  cuts: { what: string; phase: string; seconds: number }[];
  /**
   * Of those, the API's requests it cut itself (not MinIO's answers to links, not a client that
   * stopped sending): while the API lives, each is a client left without its 503.
   */
  cutByApi: number;
  /** Requests with no answer within the client's deadline (must be 0). */
  hung: number;
  /** Saves readers can see although the API answered an error (must be 0). */
  visibleAfterRefusal: string[];
  /**
   * Uploads stored although the API answered an error: the commit reached MinIO but its answer did
   * not come back (a node died in between). Nobody is given their key, so no reader sees them; they
   * are bytes without an owner, for a lifecycle rule or an operator to remove.
   */
  orphaned: number;
  /** Objects committed by writes whose answer never came (the API died after committing): whole. */
  committedUnanswered: number;
  /** Incomplete multipart uploads the API should have aborted (must be 0). */
  leftIncomplete: string[];
  /** Incomplete multipart uploads of requests cut off by the API's death (left to the cleanup). */
  leftForCleanup: number;
  /** Downloads whose bytes differed from what was acknowledged (must be 0). */
  mismatched: number;
  /** Reads (links and downloads) that succeeded while the fault lasted, and all reads then. */
  readsDuring: { ok: number; sent: number };
  /** Writes acknowledged while the fault lasted, and all writes then. */
  writesDuring: { ok: number; sent: number };
}

/** How an answer MinIO gave (to a download link) is named in `otherAnswers`. */
const MINIO_ANSWER = "MinIO ";

const isWrite = (o: Outcome) => o.op === "upload" || o.op === "artifacts";
const ok = (o: Outcome) => o.status !== undefined && o.status < 300;

/** Reads an object whole and answers its digest, or undefined when MinIO has no such object. */
async function digestOf(client: Minio.Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const stream = await client.getObject(bucket, key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return sha256(Buffer.concat(chunks));
  } catch (err) {
    if ((err as { code?: string }).code === "NoSuchKey") return undefined;
    throw err;
  }
}

async function listKeys(client: Minio.Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of client.listObjectsV2(bucket, "", true)) if (item.name) keys.push(item.name);
  return keys;
}

/** Keys with an incomplete multipart upload (the query alone: minio-js' listIncompleteUploads also
 * lists each upload's parts, which fails when the upload is aborted in between). */
async function listIncomplete(client: Minio.Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let keyMarker = "";
  let uploadIdMarker = "";
  for (;;) {
    const page = await client.listIncompleteUploadsQuery(bucket, "", keyMarker, uploadIdMarker, "");
    for (const upload of page.uploads) {
      // A listed upload MinIO no longer has (completed or aborted; its listing lags) is not left.
      if (await uploadExists(client, bucket, upload.key, upload.uploadId)) keys.push(upload.key);
    }
    if (!page.isTruncated) return keys;
    keyMarker = page.nextKeyMarker;
    uploadIdMarker = page.nextUploadIdMarker;
  }
}

async function uploadExists(client: Minio.Client, bucket: string, key: string, uploadId: string): Promise<boolean> {
  // ListParts is what says whether an upload still exists; minio-js has it, marked protected.
  const parts = client as unknown as { listParts(b: string, k: string, id: string): Promise<unknown> };
  return parts.listParts(bucket, key, uploadId).then(
    () => true,
    (err: { code?: string }) => (err.code === "NoSuchUpload" ? false : Promise.reject(err)),
  );
}

export interface CheckOptions {
  buckets: string[];
  /** How long an acknowledged object may take to read back before it counts as lost. */
  readBackMs: number;
  /** How long the API's own background aborts get before an incomplete upload counts as left. */
  abortGraceMs: number;
  /**
   * The API process died (SIGKILL): uploads it had started for requests it never answered cannot
   * have been aborted by it, and are left to the cleanup (MinIO's stale-upload expiry, the API's
   * session janitor for uploads/). Otherwise every request's upload must be gone.
   */
  apiCrashed: boolean;
}

export async function verify(client: Minio.Client, outcomes: Outcome[], options: CheckOptions): Promise<Verdict> {
  const writes = outcomes.filter(isWrite);
  const verdict: Verdict = {
    sent: outcomes.length,
    acknowledged: writes.filter(ok).length,
    lost: [],
    late: [],
    refused: 0,
    otherAnswers: {},
    unanswered: 0,
    reset: 0,
    unansweredErrors: {},
    cuts: [],
    cutByApi: 0,
    hung: outcomes.filter((o) => o.hung).length,
    visibleAfterRefusal: [],
    orphaned: 0,
    committedUnanswered: 0,
    leftIncomplete: [],
    leftForCleanup: 0,
    mismatched: outcomes.filter((o) => o.mismatch).length,
    readsDuring: { ok: 0, sent: 0 },
    writesDuring: { ok: 0, sent: 0 },
  };
  for (const o of outcomes) {
    if (o.status === undefined) {
      verdict.unanswered++;
      const what = `${o.op} ${o.error ?? "no answer"}`;
      verdict.unansweredErrors[what] = (verdict.unansweredErrors[what] ?? 0) + 1;
      if (o.error !== "ECONNREFUSED") {
        verdict.reset++;
        verdict.cuts.push({ what, phase: o.phase, seconds: o.ms / 1000 });
        if (o.answeredBy === "api" && !o.clientStalled) verdict.cutByApi++;
      }
    } else if (o.status === 503 && o.retryAfter) verdict.refused++;
    else if (o.status >= 300) {
      const what = `${o.answeredBy === "minio" ? MINIO_ANSWER : ""}${o.status}${o.code ? ` ${o.code}` : ""}`;
      verdict.otherAnswers[what] = (verdict.otherAnswers[what] ?? 0) + 1;
    }
    if (o.phase === "during") {
      const tally = isWrite(o) ? verdict.writesDuring : verdict.readsDuring;
      tally.sent++;
      if (ok(o) && !o.mismatch) tally.ok++;
    }
  }

  // 1. Every acknowledged object, with its digest; a missing one is asked for again until readBackMs.
  const pending = writes.filter(ok).flatMap((o) => o.objects.filter((s) => s.bucket && s.key));
  const started = Date.now();
  for (let pass = 0; pending.length > 0; pass++) {
    const retry: typeof pending = [];
    for (const sent of pending) {
      const digest = await digestOf(client, sent.bucket as string, sent.key as string);
      if (digest === undefined) retry.push(sent);
      else if (digest !== sent.sha256) verdict.lost.push(`${sent.key} (different bytes)`);
      else if (pass > 0) verdict.late.push({ key: sent.key as string, seconds: (Date.now() - started) / 1000 });
    }
    pending.splice(0, pending.length, ...retry);
    if (pending.length === 0) break;
    if (Date.now() - started > options.readBackMs) {
      verdict.lost.push(...pending.map((s) => `${s.key} (not found)`));
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }

  // 2. Nothing visible from a refused write; a write cut off with the API may have committed, whole.
  const keys = (await Promise.all(options.buckets.map((b) => listKeys(client, b)))).flat();
  for (const o of writes.filter((w) => !ok(w))) {
    // An upload is visible as its object; a save as its result.json (readers follow nothing else).
    const visible = keys.filter((k) =>
      o.op === "upload" ? k.includes(o.marker) : k === `executions/${o.marker}/result.json`,
    );
    if (visible.length === 0) continue;
    if (o.status === undefined) verdict.committedUnanswered++;
    else if (o.op === "upload") verdict.orphaned++;
    else verdict.visibleAfterRefusal.push(...visible.map((k) => `${k} (answered ${o.status} ${o.code ?? ""})`));
  }

  // 3. No incomplete multipart upload of an answered request, once the API's own aborts had time.
  const deadline = Date.now() + options.abortGraceMs;
  for (;;) {
    const incomplete = (await Promise.all(options.buckets.map((b) => listIncomplete(client, b)))).flat();
    const owners = incomplete.map((key) => ({ key, owner: writes.find((w) => key.includes(w.marker)) }));
    const cutOff = (u: (typeof owners)[number]) => options.apiCrashed && u.owner?.status === undefined;
    const mustBeGone = owners.filter((u) => u.owner && !cutOff(u));
    if (mustBeGone.length === 0 || Date.now() > deadline) {
      verdict.leftIncomplete = mustBeGone.map((u) => u.key);
      verdict.leftForCleanup = owners.filter(cutOff).length;
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return verdict;
}

/**
 * The rules every fault must keep, as failures: empty when the fault lost and left nothing.
 * `apiAlive`: the fault leaves the API process running, so every request to it gets an answer.
 */
export function violations(v: Verdict, documented: readonly string[], apiAlive = true): string[] {
  const problems: string[] = [];
  if (apiAlive && v.cutByApi > 0) problems.push(`${v.cutByApi} requests cut by the API without an answer`);
  if (v.lost.length > 0) problems.push(`${v.lost.length} acknowledged objects lost: ${v.lost.slice(0, 5).join(", ")}`);
  if (v.hung > 0) problems.push(`${v.hung} requests hung past the client's deadline`);
  if (v.mismatched > 0) problems.push(`${v.mismatched} downloads with other bytes than acknowledged`);
  if (v.visibleAfterRefusal.length > 0) {
    problems.push(`saves visible after a refused request: ${v.visibleAfterRefusal.slice(0, 5).join(", ")}`);
  }
  if (v.leftIncomplete.length > 0) {
    problems.push(`incomplete uploads the API did not abort: ${v.leftIncomplete.slice(0, 5).join(", ")}`);
  }
  // The API's answers are its contract; MinIO's answers to links already given out are MinIO's own,
  // reported (RELIABILITY.md's notes) but not held to it.
  const undocumented = Object.keys(v.otherAnswers).filter(
    (what) => !what.startsWith(MINIO_ANSWER) && !documented.includes(what),
  );
  if (undocumented.length > 0) {
    problems.push(
      `answers outside the contract: ${undocumented.map((what) => `${what} (x${v.otherAnswers[what]})`).join(", ")}`,
    );
  }
  return problems;
}

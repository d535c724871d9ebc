// The faults, one at a time: each breaks one thing while the load runs, then heals it, and answers
// the moment healing began (recovery is measured from there). What a fault may answer besides 2xx
// and 503 with Retry-After is listed with it, with the reason.
import { COLD_MIN_BYTES, type FaultEnvironment } from "./environment.mts";
import { type LoadOptions, type Outcome, throttledUpload } from "./load.mts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

export interface FaultContext {
  env: FaultEnvironment;
  /** How long a server-side fault lasts. */
  faultMs: number;
  /** Which repetition this is (a different node each time, for instance). */
  round: number;
  loadOptions: LoadOptions;
  /** Outcomes of the fault's own requests (slow clients, uploads in flight at a signal). */
  extra: Outcome[];
  log(message: string): void;
}

export interface Fault {
  /** Short name, e.g. `node-kill`. */
  name: string;
  /** The table's description. */
  title: string;
  /** Repetitions in a full run (a short run does each once). */
  repeat: number;
  /** The API process is stopped and started again by the fault itself (else it must live through it). */
  restartsApi?: boolean;
  /** The API dies without a chance to clean up (SIGKILL): see CheckOptions.apiCrashed. */
  crashesApi?: boolean;
  /**
   * The API's answers allowed besides 2xx and 503 with Retry-After, as `checks.mts` names them
   * (e.g. `404 OBJECT_NOT_FOUND`), each with why it belongs to the contract. MinIO's own answers to
   * download links are reported, not held to the API's contract.
   */
  documented?: readonly string[];
  /** Breaks, waits, heals; answers when healing began (epoch ms). */
  inject(ctx: FaultContext): Promise<number>;
  /** After the checks: what else the fault should have left, as a note for the table. */
  afterwards?(env: FaultEnvironment, outcomes: Outcome[], short: boolean): Promise<string>;
}

/** Uploads in flight when the API gets a signal: 6 MiB each at 1.5 MiB/s, so about 4 s long. */
function uploadsInFlight(ctx: FaultContext, count: number): Promise<Outcome[]> {
  return Promise.all(
    Array.from({ length: count }, () => throttledUpload(ctx.loadOptions, "during", 6 * MiB, 1.5 * MiB)),
  );
}

/**
 * MinIO's read-after-write gap while a node rejoins: a node that just came back can answer NoSuchKey
 * for a few seconds for objects written without it (RELIABILITY.md measures it as "read back late";
 * the object is there, whole), so the API's download link answers 404 OBJECT_NOT_FOUND meanwhile.
 */
const REJOIN_GAP = ["404 OBJECT_NOT_FOUND"] as const;

/** MinIO servers down for the fault's length (SIGKILL: a crash; SIGTERM: a stop), then started again. */
async function serversDown(ctx: FaultContext, names: string[], signal: "SIGKILL" | "SIGTERM", length = 1) {
  ctx.log(`${signal} ${names.join(", ")}`);
  await ctx.env.stopServers(names, signal === "SIGKILL" ? 0 : undefined);
  await sleep(ctx.faultMs * length);
  const healed = Date.now();
  await ctx.env.startServers(names);
  return healed;
}

/**
 * The API signalled while two uploads are in flight, then started again as a supervisor would. After
 * SIGTERM it must drain: exit 0, the uploads in flight answered 201. After SIGKILL they are cut off.
 */
async function apiSignalled(ctx: FaultContext, signal: "SIGTERM" | "SIGKILL") {
  const inFlight = uploadsInFlight(ctx, 2);
  await sleep(signal === "SIGTERM" ? 1000 : 1500);
  ctx.log(`${signal} the API with 2 uploads in flight`);
  const { child, exited } = ctx.env.api;
  child.kill(signal);
  const code = await exited;
  const cut = await inFlight;
  if (signal === "SIGTERM") {
    if (code !== 0) throw new Error(`the API exited with ${code} after SIGTERM, not 0`);
    const unfinished = cut.filter((o) => o.status !== 201);
    if (unfinished.length > 0) {
      throw new Error(`uploads in flight at SIGTERM answered ${unfinished.map((o) => o.status ?? o.error)}`);
    }
  }
  ctx.extra.push(...cut);
  const healed = Date.now();
  await ctx.env.restartApi();
  return healed;
}

/**
 * Whether the uploads due for the cold tier that were acknowledged while it was down moved there once
 * it was back (MinIO's scanner retries failed transitions): counted, with how long it took.
 */
async function transitionsCaughtUp(env: FaultEnvironment, outcomes: Outcome[], short: boolean): Promise<string> {
  const due = outcomes
    .filter((o) => o.phase === "during" && o.op === "upload" && o.status === 201)
    .flatMap((o) => o.objects)
    .filter((sent) => sent.size >= COLD_MIN_BYTES && sent.key && sent.bucket);
  const started = Date.now();
  const waitMs = short ? 30_000 : 90_000;
  let moved = 0;
  while (due.length > 0) {
    const states = await Promise.all(
      due.map((sent) =>
        env.hotRoot
          .statObject(sent.bucket as string, sent.key as string)
          .then(
            (stat) =>
              (stat.metaData["x-amz-storage-class"] ?? (stat as { storageClass?: string }).storageClass) ===
              env.outputs.tierName,
          ),
      ),
    );
    moved = states.filter(Boolean).length;
    if (moved === due.length || Date.now() - started > waitMs) break;
    await sleep(2000);
  }
  return `${moved} of ${due.length} objects due while the tier was down moved to it within ${((Date.now() - started) / 1000).toFixed(0)} s of the checks`;
}

export const FAULTS: Fault[] = [
  {
    name: "node-kill",
    title: "one MinIO node of four killed (SIGKILL), restarted after the fault",
    repeat: 4,
    documented: REJOIN_GAP,
    inject: (ctx) => serversDown(ctx, [ctx.env.nodes[ctx.round % 4] as string], "SIGKILL"),
  },
  {
    name: "two-nodes-down",
    title: "two MinIO nodes of four killed (at the edge of EC:2 write quorum), restarted after the fault",
    repeat: 2,
    documented: REJOIN_GAP,
    inject: (ctx) =>
      serversDown(ctx, [ctx.env.nodes[ctx.round % 4], ctx.env.nodes[(ctx.round + 2) % 4]] as string[], "SIGKILL"),
  },
  {
    name: "hot-stopped",
    title: "the whole hot MinIO stopped (SIGTERM), started again after the fault",
    repeat: 2,
    documented: REJOIN_GAP,
    inject: (ctx) => serversDown(ctx, ctx.env.nodes, "SIGTERM"),
  },
  {
    name: "cold-down",
    title: "the cold MinIO stopped while transitions are due (every object >= 1 MiB is due at once)",
    repeat: 1,
    // Longer than the others: the scanner retries transitions that failed while the tier was away.
    inject: (ctx) => serversDown(ctx, ["cold"], "SIGTERM", 1.5),
    afterwards: transitionsCaughtUp,
  },
  {
    name: "api-sigterm",
    title: "the API sent SIGTERM with uploads in flight (graceful drain), started again",
    repeat: 2,
    restartsApi: true,
    inject: (ctx) => apiSignalled(ctx, "SIGTERM"),
  },
  {
    name: "api-sigkill",
    title: "the API killed (SIGKILL) with uploads in flight, started again",
    repeat: 2,
    restartsApi: true,
    crashesApi: true,
    inject: (ctx) => apiSignalled(ctx, "SIGKILL"),
  },
  {
    name: "slow-stalled-clients",
    title: "a slow client (512 KiB at 16 KiB/s) and a client that stops sending mid-body",
    repeat: 1,
    // The stalled client's connection is closed by the API (no answer can reach a client that is
    // not reading); the slow one must be answered 201 like any other.
    async inject(ctx) {
      ctx.log("a 16 KiB/s upload and an upload that stalls after 1 MiB of 4");
      const [slow, stalled] = await Promise.all([
        throttledUpload(ctx.loadOptions, "during", 512 * 1024, 16 * 1024),
        throttledUpload(ctx.loadOptions, "during", 4 * MiB, 8 * MiB, 1 * MiB),
      ]);
      ctx.log(
        `slow client answered ${slow.status ?? slow.error} after ${(slow.ms / 1000).toFixed(0)} s; the stalled one was closed after ${(stalled.ms / 1000).toFixed(0)} s (${stalled.status ?? stalled.error})`,
      );
      if (slow.status !== 201) throw new Error(`the slow client was answered ${slow.status ?? slow.error}, not 201`);
      ctx.extra.push(slow, stalled);
      return Date.now();
    },
  },
];

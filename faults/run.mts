// `npm run faults`: the fault suite. Sets up the stack as deployed (faults/environment.mts), drives a
// steady mix of requests through the API (faults/load.mts) while it injects each fault in turn
// (faults/scenarios.mts), checks afterwards against MinIO what survived (faults/checks.mts), and
// writes the table to RELIABILITY.md. Exits 1 when a fault lost an acknowledged write or broke
// another rule. `--short` (what CI runs, through test/faults) does each fault once, with shorter
// phases, and writes no file unless `--write` is given too.
import { join, resolve } from "node:path";
import { machineDescription, markdownTable, writeReport } from "../scripts/harness/report.mts";
import { type Verdict, verify, violations } from "./checks.mts";
import { type FaultEnvironment, startFaultEnvironment } from "./environment.mts";
import { Load, type LoadOptions } from "./load.mts";
import { FAULTS, type Fault } from "./scenarios.mts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RunOptions {
  short: boolean;
  /** Only the faults with these names (all when empty). */
  only?: string[];
  log?: (message: string) => void;
}

/** One repetition of one fault. */
export interface FaultRun {
  fault: Fault;
  verdict: Verdict;
  /** From the start of healing until /readyz answered 200 and an upload was acknowledged. */
  recoverySeconds: number;
  /** The API process that served before the fault still serves after it (faults that spare it). */
  apiSurvived: boolean;
  problems: string[];
  /** What the fault's own afterwards check found (e.g. transitions that caught up). */
  note?: string;
}

export interface RunReport {
  runs: FaultRun[];
  seconds: number;
}

/** Polls with real uploads (recorded in `load`) until one is acknowledged and /readyz says 200. */
async function recoverySeconds(env: FaultEnvironment, load: Load, since: number): Promise<number> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`${env.api.url}/readyz`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
    if (ready?.status === 200) {
      const probe = await load.send("upload");
      load.outcomes.push(probe);
      if (probe.status === 201) return (Date.now() - since) / 1000;
    }
    await sleep(200);
  }
  throw new Error("the API did not recover within 120 s of the fault's end");
}

async function runFault(env: FaultEnvironment, fault: Fault, round: number, options: RunOptions): Promise<FaultRun> {
  const log = options.log ?? (() => undefined);
  const phaseMs = options.short ? 2000 : 4000;
  const loadOptions: LoadOptions = {
    apiUrl: env.api.url,
    apiKey: env.apiKey,
    artifactsBucket: env.outputs.artifactsBucket,
    workers: options.short ? 3 : 4,
    // Above every deadline of the API's own (60 s socket idle, 15 min per request is not reached by
    // these sizes): a request still open after this is a hang.
    timeoutMs: 90_000,
  };
  const load = new Load(loadOptions);
  const apiBefore = env.api.child.pid;
  const extra: Parameters<Fault["inject"]>[0]["extra"] = [];
  load.start();
  await sleep(phaseMs);
  load.phase = "during";
  const healedAt = await fault.inject({
    env,
    faultMs: options.short ? 8000 : 10_000,
    round,
    loadOptions,
    extra,
    log: (m) => log(`   ${m}`),
  });
  load.phase = "after";
  const recovery = await recoverySeconds(env, load, healedAt);
  await sleep(phaseMs);
  await load.stop();
  const outcomes = [...load.outcomes, ...extra];
  const verdict = await verify(env.hotRoot, outcomes, {
    buckets: [env.outputs.uploadsBucket, env.outputs.artifactsBucket],
    readBackMs: 30_000,
    // The API retries a failed abort in the background, backing off to 30 s between tries.
    abortGraceMs: 60_000,
    apiCrashed: fault.crashesApi === true,
  });
  const note = await fault.afterwards?.(env, outcomes, options.short);
  if (note) log(`   ${note}`);
  const apiSurvived = env.api.child.pid === apiBefore && env.api.child.exitCode === null;
  const problems = violations(verdict, fault.documented ?? [], !fault.restartsApi);
  if (!fault.restartsApi && !apiSurvived) problems.push("the API process did not live through the fault");
  return { fault, verdict, recoverySeconds: recovery, apiSurvived, problems, note };
}

export async function runFaults(options: RunOptions): Promise<RunReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const env = await startFaultEnvironment(log);
  const runs: FaultRun[] = [];
  let logSeen = 0;
  try {
    for (const fault of FAULTS.filter((f) => !options.only?.length || options.only.includes(f.name))) {
      for (let round = 0; round < (options.short ? 1 : fault.repeat); round++) {
        log(`${fault.name} (${round + 1}/${options.short ? 1 : fault.repeat}): ${fault.title}`);
        const run = await runFault(env, fault, round, options);
        const v = run.verdict;
        log(
          `   ${v.sent} requests, ${v.acknowledged} writes acknowledged, ${v.lost.length} lost, ${v.refused} refused (503), ${v.unanswered} unanswered; recovered in ${run.recoverySeconds.toFixed(1)} s${run.problems.length ? `\n   PROBLEMS: ${run.problems.join("; ")}` : ""}`,
        );
        for (const late of v.late) log(`   late: ${late.key} read back after ${late.seconds.toFixed(1)} s`);
        if (v.unanswered) log(`   unanswered: ${JSON.stringify(v.unansweredErrors)}`);
        for (const cut of v.cuts) log(`   cut: ${cut.what} (${cut.phase} the fault) after ${cut.seconds.toFixed(1)} s`);
        const apiLog = env.apiLog();
        for (const line of apiLog.slice(logSeen)) log(`   api: ${line.slice(0, 400)}`);
        logSeen = apiLog.length;
        runs.push(run);
      }
    }
  } finally {
    await env.close();
  }
  return { runs, seconds: (Date.now() - started) / 1000 };
}

const sum = (runs: FaultRun[], of: (v: Verdict) => number) => runs.reduce((n, r) => n + of(r.verdict), 0);

/** RELIABILITY.md's text: a row per fault (its repetitions summed), then what erasure coding kept. */
export function renderReport(report: RunReport, short: boolean): string {
  const byFault = new Map<Fault, FaultRun[]>();
  for (const run of report.runs) byFault.set(run.fault, [...(byFault.get(run.fault) ?? []), run]);
  const rows = [...byFault].map(([fault, runs]) => {
    const recoveries = runs.map((r) => r.recoverySeconds);
    const others = runs.flatMap((r) => Object.entries(r.verdict.otherAnswers).map(([what, n]) => `${what} x${n}`));
    const late = runs.flatMap((r) => r.verdict.late.map((l) => l.seconds));
    const notes = [
      late.length ? `${late.length} read back late (up to ${Math.max(...late).toFixed(1)} s)` : "",
      sum(runs, (v) => v.unanswered - v.reset)
        ? `${sum(runs, (v) => v.unanswered - v.reset)} connection(s) refused (the API was down)`
        : "",
      sum(runs, (v) => v.reset) ? `${sum(runs, (v) => v.reset)} connection(s) cut without an answer` : "",
      sum(runs, (v) => v.leftForCleanup)
        ? `${sum(runs, (v) => v.leftForCleanup)} incomplete upload(s) left to the cleanup`
        : "",
      sum(runs, (v) => v.committedUnanswered)
        ? `${sum(runs, (v) => v.committedUnanswered)} committed, answer lost`
        : "",
      others.length ? `other answers: ${others.join(", ")}` : "",
      ...runs.map((r) => r.note ?? ""),
      ...runs.flatMap((r) => r.problems),
    ].filter(Boolean);
    return [
      `${fault.title}${runs.length > 1 ? ` (x${runs.length})` : ""}`,
      String(sum(runs, (v) => v.sent)),
      String(sum(runs, (v) => v.acknowledged)),
      String(sum(runs, (v) => v.lost.length)),
      String(sum(runs, (v) => v.refused)),
      `${Math.max(...recoveries).toFixed(1)} s`,
      notes.join("\n") || "-",
    ];
  });
  const during = (name: string, of: "writesDuring" | "readsDuring") => {
    const runs = report.runs.filter((r) => r.fault.name === name);
    const ok = runs.reduce((n, r) => n + r.verdict[of].ok, 0);
    const sent = runs.reduce((n, r) => n + r.verdict[of].sent, 0);
    return `${ok} of ${sent}`;
  };
  const table = markdownTable(
    ["fault", "requests", "writes acknowledged", "lost", "refused (503)", "recovery (max)", "notes"],
    rows,
  );
  return `# Reliability

Written by \`npm run faults\` (faults/run.mts) on ${new Date().toISOString().slice(0, 10)}, in ${report.seconds.toFixed(0)} s${short ? " (short run: each fault once)" : ""}.
Machine: ${machineDescription()}.

The stack as deployed on loopback: the hot MinIO as four erasure-coded processes (EC:2) behind one
address, a cold MinIO as its tier with a 0-day rule for objects of 1 MiB and more, the program
deployed by the engine, and the API from its bundle as the stack's least-privilege user. A steady
mix of uploads, artifact saves, download links and downloads runs while each fault is injected and
healed; afterwards every acknowledged write is read back from MinIO with its SHA-256, nothing may be
visible from a refused write, and no incomplete multipart upload may be left by a request the API
answered; the API must answer 2xx, 503 with \`Retry-After\`, or what the fault documents (MinIO's own
answers to download links are listed in the notes, not held to the API's contract). Recovery runs
from the end of the fault until \`/readyz\` answers 200 and an upload is acknowledged again.

${table}

What MinIO's erasure coding kept, measured in the same run:
- writes with one node of four down: ${during("node-kill", "writesDuring")} acknowledged;
- writes with two nodes of four down: ${during("two-nodes-down", "writesDuring")} acknowledged;
- reads (download links and downloads) with two nodes down: ${during("two-nodes-down", "readsDuring")} served.
`;
}

async function main(argv: string[]): Promise<number> {
  const short = argv.includes("--short");
  const only = argv.filter((_, i) => argv[i - 1] === "--only");
  const log = (m: string) => console.log(`== ${m}`);
  const report = await runFaults({ short, only, log });
  const text = renderReport(report, short);
  console.log(`\n${text}`);
  // Only a full run of every fault is the report; `--write` forces it.
  if ((!short && only.length === 0) || argv.includes("--write")) {
    writeReport(join(resolve(import.meta.dirname, ".."), "RELIABILITY.md"), text);
    log("RELIABILITY.md written");
  }
  const failed = report.runs.filter((r) => r.problems.length > 0);
  for (const run of failed) console.error(`${run.fault.name}: ${run.problems.join("; ")}`);
  return failed.length > 0 ? 1 : 0;
}

if (process.argv[1] === import.meta.filename) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`error: ${err.stack ?? err.message}`);
      process.exit(1);
    },
  );
}

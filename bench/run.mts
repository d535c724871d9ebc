// `npm run bench`: the data path measured side by side in one run, on this machine, against its peers:
// a direct upload to the same MinIO (presigned PUTs), our API as deployed (the bundle, its own MinIO
// user), and the seed guide's FastAPI handler (bench/peers). Prints a table of absolute figures and
// ratios and writes it, with the machine's description, to BENCHMARKS.md, followed by where the time
// went (bench/profile.mts: CPU per process, profiles of the API). Nothing here is a test: machines
// are shared and noisy, so only ratios measured in the same run are compared.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import autocannon from "autocannon";
import { buildBundle } from "../api/build.mts";
import { apiAccessPolicy } from "../components/api-access-policy.ts";
import { minioClient } from "../components/providers/minio-connection.ts";
import { applyScopedUser } from "../components/providers/scoped-user.ts";
import { externalTargetConfigMap } from "../scripts/external-target.mts";
import { startApiProcess, waitForAnswer } from "../scripts/harness/api-process.mts";
import { createEphemeralStack } from "../scripts/harness/ephemeral-stack.mts";
import { fileForm, fileFormChunks } from "../scripts/harness/multipart-body.mts";
import { machineDescription, markdownTable, writeReport } from "../scripts/harness/report.mts";
import { freePort, startEnvironment, stopEnvironment } from "../scripts/local-minio.mts";
import {
  busySeconds,
  type CpuProfile,
  connectProfiler,
  cpuMeter,
  cpuText,
  type Profiler,
  profileSummary,
  sourceNamer,
} from "./profile.mts";

const root = resolve(import.meta.dirname, "..");
const MiB = 1024 * 1024;
const KEY = `bench-${randomBytes(12).toString("hex")}`;
// Not "upload-api": the preview measure deploys the program, which makes (and owns) that user.
const API_USER = { accessKey: "bench-api", secretKey: randomBytes(20).toString("hex") };
const auth = { authorization: `Bearer ${KEY}` };

interface Row {
  measure: string;
  goal: string;
  figures: { peer: string; value: number; unit: string }[];
  /** The ratio the goal is about, and whether it is met. */
  ratio?: { value: number; of: string; met: boolean };
  note?: string;
  /** The CPU each process spent, per peer. */
  cpu?: string;
  /** Runs the API's side of the measure again with its profiler on (after every measure). */
  profile?: () => Promise<CpuProfile>;
  /** Where the time went, when the measure profiled its processes itself. */
  profiled?: string;
}

function log(message: string): void {
  console.log(`== ${message}`);
}

/** A process the benchmark started; stopped at the end whatever happens. */
const children: ChildProcess[] = [];
/** The API processes' inspector sessions: closed before the processes are stopped, or they wait for them. */
const profilers: Profiler[] = [];
function startChild(command: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return child;
}

/** The seed peer's virtual environment, in the toolchain cache keyed by its pins. */
function seedPeerPython(): string {
  const requirements = join(root, "bench", "peers", "requirements.txt");
  const pins = execFileSync("sh", ["-c", `grep -v '^#' '${requirements}' | sha256sum | cut -c1-12`], {
    encoding: "utf8",
  }).trim();
  const venv = join(
    process.env.WSS_CACHE ?? join(process.env.HOME ?? tmpdir(), ".cache", "workflow-studio-storage"),
    `bench-seed-peer-${pins}`,
  );
  if (!existsSync(join(venv, ".complete"))) {
    log(`seed peer: installing its pinned packages from PyPI into ${venv}`);
    rmSync(venv, { recursive: true, force: true });
    execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
    execFileSync(join(venv, "bin", "pip"), ["install", "-q", "--disable-pip-version-check", "-r", requirements], {
      stdio: "inherit",
    });
    writeFileSync(join(venv, ".complete"), new Date().toISOString());
  }
  return join(venv, "bin", "python");
}

interface Answer {
  ok: boolean;
  status: number;
  text: string;
}

/**
 * Sends `chunks` as a request's body, with its length, on a connection of its own. The uploads of
 * every peer go through it: node:http writes the chunks as they are (a 100 MiB payload is not
 * copied), so no peer pays for the load generator (copying 32 multipart bodies of 100 MiB cost the
 * client more CPU than the API spent).
 */
function send(url: string, method: string, headers: Record<string, string>, chunks: Buffer[]): Promise<Answer> {
  const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, "content-length": length }, agent: false }, (res) => {
      const body: Buffer[] = [];
      res.on("data", (chunk: Buffer) => body.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, status, text: Buffer.concat(body).toString() });
      });
    });
    req.on("error", reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

/** A process's resident memory now, from /proc (bytes). */
function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
  return Number(line?.[1] ?? 0) * 1024;
}

/**
 * The median of three no-op previews of a program, after an `up`, in a file backend of its own
 * (the engine, language host and plugins as a user runs them). With `profileDir`, a fourth preview
 * runs with every Node.js process it starts profiled (the program, the dynamic providers), and
 * `processes` says where their time went. Destroys and removes the stack after.
 */
async function noOpPreviews(
  workDir: string,
  config: ConfigMap,
  profileDir?: string,
): Promise<{ seconds: number; processes?: string }> {
  const eph = await createEphemeralStack(workDir, config);
  const noOpPreview = async () => {
    const preview = await eph.stack.preview();
    if (Object.keys(preview.changeSummary).some((op) => op !== "same")) {
      throw new Error(`the preview of ${workDir} is not a no-op: ${JSON.stringify(preview.changeSummary)}`);
    }
  };
  try {
    await eph.stack.up();
    const seconds: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await noOpPreview();
      seconds.push((performance.now() - t) / 1000);
    }
    if (!profileDir) return { seconds: median(seconds) };
    const env = eph.stack.workspace.envVars;
    env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${profileDir}`;
    await noOpPreview().finally(() => delete env.NODE_OPTIONS);
    return { seconds: median(seconds), processes: previewProcesses(profileDir) };
  } finally {
    await eph.dispose();
  }
}

/** The profiles of one preview's Node.js processes, each summed by source. */
function previewProcesses(profileDir: string): string {
  const nameSource = sourceNamer(root);
  return (
    readdirSync(profileDir)
      .filter((file) => file.endsWith(".cpuprofile"))
      .map((file) => JSON.parse(readFileSync(join(profileDir, file), "utf8")) as CpuProfile)
      // The CLI's short-lived helpers (a version check, the plugin list) are left out.
      .filter((profile) => busySeconds(profile) >= 0.1)
      .map((profile) => {
        const urls = profile.nodes.map((node) => node.callFrame.url);
        const what = urls.some((url) => url.includes("dynamic-provider"))
          ? "a dynamic provider"
          : urls.some((url) => url.endsWith("/index.ts"))
            ? "the program"
            : "another process";
        return `${what}: ${profileSummary(profile, nameSource)}`;
      })
      .sort()
      .join("<br>")
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "wss-bench-"));
  const rows: Row[] = [];
  try {
    log("MinIO on loopback, the API's user and buckets");
    const [hot, cold] = await startEnvironment({ dir: join(dir, "minio"), basePort: 0 });
    if (!hot || !cold) throw new Error("no hot and cold MinIO");
    const rootClient = minioClient(hot);
    for (const bucket of ["user-uploads", "workflow-artifacts"]) await rootClient.makeBucket(bucket);
    await applyScopedUser(hot, {
      ...API_USER,
      policyName: API_USER.accessKey,
      policy: apiAccessPolicy({ uploadsBucket: "user-uploads", artifactsBucket: "workflow-artifacts" }),
    });
    const apiClient = minioClient({ endpoint: hot.endpoint, ...API_USER });

    log("our API, from its bundle, as the deployed user");
    const bundle = await buildBundle(join(dir, "api"), { sourceMap: true });
    const apiEnvironment = {
      MINIO_ENDPOINT: hot.endpoint,
      MINIO_ACCESS_KEY: API_USER.accessKey,
      MINIO_SECRET_KEY: API_USER.secretKey,
      API_KEYS: JSON.stringify([{ name: "bench", key: KEY, scopes: ["upload", "presign", "download"] }]),
      MAX_UPLOAD_BYTES: String(2 * 1024 * MiB),
      // The concurrent measure sends 64 at once: the default cap (16) would shed most of them.
      MAX_CONCURRENT_UPLOADS: "64",
      LOG_LEVEL: "warn",
    };
    /** An API process with its inspector on loopback, for the profiles taken after the measures. */
    const startApi = async () => {
      const inspectorPort = await freePort();
      const started = await startApiProcess(
        bundle.file,
        { ...apiEnvironment, METRICS_PORT: String(await freePort()) },
        { port: await freePort(), nodeArgs: [`--inspect=127.0.0.1:${inspectorPort}`] },
      );
      children.push(started.child);
      const profiler = await connectProfiler(inspectorPort);
      profilers.push(profiler);
      return { url: started.url, pid: started.child.pid as number, profiler };
    };
    const apiProcess = await startApi();
    const api = apiProcess.url;

    log("the seed guide's FastAPI handler");
    const seedPort = await freePort();
    const seedProcess = startChild(
      seedPeerPython(),
      ["-m", "uvicorn", "seed_upload:app", "--host", "127.0.0.1", "--port", String(seedPort), "--log-level", "warning"],
      {
        PYTHONPATH: join(root, "bench", "peers"),
        PYTHONDONTWRITEBYTECODE: "1",
        MINIO_ENDPOINT: hot.endpoint,
        MINIO_ACCESS_KEY: API_USER.accessKey,
        MINIO_SECRET_KEY: API_USER.secretKey,
      },
    );
    const seed = `http://127.0.0.1:${seedPort}`;
    await waitForAnswer(`${seed}/docs`, { what: "the seed peer" });

    /** A presigned PUT bound to one key and length, from our API (what a direct client gets). */
    const presignPut = async (size: number) => {
      const res = await fetch(`${api}/v1/uploads/presign`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          filename: `${randomUUID()}.bin`,
          content_type: "application/octet-stream",
          size,
          method: "PUT",
        }),
      });
      const link = (await res.json()) as { url: string; headers: Record<string, string> };
      const { "Content-Length": _, ...headers } = link.headers;
      return { url: link.url, headers };
    };

    /**
     * CPU each process spent while a peer was measured, summed over its rounds: peer -> process -> s.
     * Cleared as each measure starts.
     */
    const cpu = new Map<string, Record<string, number>>();
    const processes = { api: apiProcess.pid, minio: hot.pid, seed: seedProcess.pid as number };
    /** Runs a peer's turn, adding the CPU of `counted` (by default the long-lived processes) to its sum. */
    const withCpu = async <T,>(peer: string, work: () => Promise<T>, counted = processes): Promise<T> => {
      const spent = cpuMeter(counted);
      try {
        return await work();
      } finally {
        const sum = cpu.get(peer) ?? {};
        cpu.set(peer, sum);
        for (const [name, seconds] of Object.entries(spent())) sum[name] = (sum[name] ?? 0) + seconds;
      }
    };
    /** A peer's CPU by process, divided by `per` (e.g. per upload), leaving out idle processes. */
    const cpuOf = (peer: string, per: number) => {
      const busy = Object.entries(cpu.get(peer) ?? {}).filter(([, seconds]) => seconds / per >= 0.005);
      return `${peer}: ${cpuText(Object.fromEntries(busy), per)}`;
    };

    cpu.clear();
    // 1. One 100 MiB upload, median of 5, each peer in turn.
    log("one 100 MiB upload, median of 5");
    const big = randomBytes(100 * MiB);
    const timeOf = async (upload: () => Promise<Answer>) => {
      const t = performance.now();
      const res = await upload();
      if (!res.ok) throw new Error(`upload answered ${res.status}: ${res.text}`);
      return (performance.now() - t) / 1000;
    };
    const uploadForm = (url: string, payload: Buffer) => {
      const form = fileFormChunks(`${randomUUID()}.bin`, payload);
      return send(url, "POST", { ...auth, "content-type": form.contentType }, form.chunks);
    };
    const putLink = (link: { url: string; headers: Record<string, string> }, payload: Buffer) =>
      send(link.url, "PUT", link.headers, [payload]);
    const apiBigUpload = () => timeOf(() => uploadForm(`${api}/v1/uploads`, big));
    const times: Record<string, number[]> = { direct: [], api: [], seed: [] };
    for (let round = 0; round < 5; round++) {
      const link = await presignPut(big.length);
      times.direct?.push(await withCpu("direct", () => timeOf(() => putLink(link, big))));
      times.api?.push(await withCpu("api", apiBigUpload));
      times.seed?.push(await withCpu("seed", () => timeOf(() => uploadForm(`${seed}/upload`, big))));
    }
    const mibps = (peer: string) => 100 / median(times[peer] as number[]);
    rows.push({
      measure: "one 100 MiB upload (median of 5)",
      goal: "API >= 0.90 of direct",
      figures: ["direct", "api", "seed"].map((peer) => ({ peer, value: mibps(peer), unit: "MiB/s" })),
      ratio: { value: mibps("api") / mibps("direct"), of: "API / direct", met: mibps("api") / mibps("direct") >= 0.9 },
      note: `seed / direct ${(mibps("seed") / mibps("direct")).toFixed(2)}`,
      cpu: `per upload: ${["direct", "api", "seed"].map((peer) => cpuOf(peer, 5)).join("; ")}`,
      profile: () =>
        apiProcess.profiler.during(async () => {
          for (let i = 0; i < 3; i++) await apiBigUpload();
        }),
    });

    cpu.clear();
    // 2. 16 KiB uploads, 64 concurrent, for 10 s each.
    log("16 KiB uploads, 64 concurrent, 10 s per peer");
    const small = randomBytes(16 * 1024);
    const links = await Promise.all(Array.from({ length: 3000 }, () => presignPut(small.length)));
    let next = 0;
    const direct = await withCpu("direct", () =>
      autocannon({
        url: hot.endpoint,
        connections: 64,
        duration: 10,
        requests: [
          {
            setupRequest: (req) => {
              const link = links[next++ % links.length] as { url: string; headers: Record<string, string> };
              const url = new URL(link.url);
              return {
                ...req,
                method: "PUT",
                path: `${url.pathname}${url.search}`,
                headers: link.headers,
                body: small,
              };
            },
          },
        ],
      }),
    );
    const form = fileForm("small.bin", small);
    const smallUploads = (url: string, headers: Record<string, string>, duration: number) =>
      autocannon({
        url,
        connections: 64,
        duration,
        method: "POST",
        headers: { ...headers, "content-type": form.contentType },
        body: form.body,
      });
    const viaApi = await withCpu("api", () => smallUploads(`${api}/v1/uploads`, auth, 10));
    const viaSeed = await withCpu("seed", () => smallUploads(`${seed}/upload`, {}, 10));
    const rps = (r: autocannon.Result) => r.requests.average;
    const thousands = (r: autocannon.Result) => r.requests.total / 1000;
    rows.push({
      measure: "16 KiB uploads, 64 concurrent",
      goal: "API >= 0.70 of direct, p99 <= 1.3x direct",
      figures: [
        { peer: "direct", value: rps(direct), unit: `req/s (p99 ${direct.latency.p99} ms, non-2xx ${direct.non2xx})` },
        { peer: "api", value: rps(viaApi), unit: `req/s (p99 ${viaApi.latency.p99} ms, non-2xx ${viaApi.non2xx})` },
        { peer: "seed", value: rps(viaSeed), unit: `req/s (p99 ${viaSeed.latency.p99} ms, non-2xx ${viaSeed.non2xx})` },
      ],
      ratio: {
        value: rps(viaApi) / rps(direct),
        of: "API / direct",
        met: rps(viaApi) / rps(direct) >= 0.7 && viaApi.latency.p99 <= 1.3 * direct.latency.p99,
      },
      note: `p99 API / direct ${(viaApi.latency.p99 / Math.max(1, direct.latency.p99)).toFixed(2)}`,
      cpu: `per 1000 uploads: ${cpuOf("direct", thousands(direct))}; ${cpuOf("api", thousands(viaApi))}; ${cpuOf("seed", thousands(viaSeed))}`,
      profile: () => apiProcess.profiler.during(() => smallUploads(`${api}/v1/uploads`, auth, 5)),
    });

    cpu.clear();
    // 3. The presign endpoint against MinIO's own metadata read (a 1-byte ranged GET), 64 concurrent.
    log("presigned download links, 64 concurrent, against a 1-byte ranged GET");
    await apiClient.putObject("user-uploads", "uploads/bench/object.bin", randomBytes(1024));
    const getUrl = await apiClient.presignedGetObject("user-uploads", "uploads/bench/object.bin", 3600);
    const getPath = new URL(getUrl);
    const ranged = await withCpu("direct", () =>
      autocannon({
        url: hot.endpoint,
        connections: 64,
        duration: 10,
        requests: [{ method: "GET", path: `${getPath.pathname}${getPath.search}`, headers: { range: "bytes=0-0" } }],
      }),
    );
    const presignLinks = (duration: number) =>
      autocannon({
        url: `${api}/v1/objects/user-uploads/url?key=uploads/bench/object.bin`,
        connections: 64,
        duration,
        headers: auth,
      });
    const presign = await withCpu("api", () => presignLinks(10));
    rows.push({
      measure: "`GET /v1/objects/.../url`, 64 concurrent",
      goal: ">= 0.80 of MinIO's 1-byte ranged GET, p99 < 50 ms",
      figures: [
        { peer: "MinIO ranged GET", value: rps(ranged), unit: `req/s (p99 ${ranged.latency.p99} ms)` },
        { peer: "api", value: rps(presign), unit: `req/s (p99 ${presign.latency.p99} ms, non-2xx ${presign.non2xx})` },
      ],
      ratio: {
        value: rps(presign) / rps(ranged),
        of: "API / MinIO",
        met: rps(presign) / rps(ranged) >= 0.8 && presign.latency.p99 < 50,
      },
      cpu: `per 1000 requests: ${cpuOf("direct", thousands(ranged))}; ${cpuOf("api", thousands(presign))}`,
      profile: () => apiProcess.profiler.during(() => presignLinks(5)),
    });
    // 4. 1 GiB through a resumable session (4 parts in flight) against one direct PUT.
    log("1 GiB: presigned parts, 4 in flight, against one direct PUT");
    const gib = randomBytes(1024 * MiB);
    const oneLink = await presignPut(gib.length);
    const directGib = await timeOf(() => putLink(oneLink, gib));
    const json = { ...auth, "content-type": "application/json" };
    const partsStarted = performance.now();
    const session = (await (
      await fetch(`${api}/v1/uploads/sessions`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ filename: "big.bin", content_type: "application/octet-stream", size: gib.length }),
      })
    ).json()) as { session_id: string; part_size: number; part_count: number };
    const partLinks = (
      (await (
        await fetch(`${api}/v1/uploads/sessions/${session.session_id}/parts`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({ part_numbers: Array.from({ length: session.part_count }, (_, i) => i + 1) }),
        })
      ).json()) as { parts: { part_number: number; size: number; url: string }[] }
    ).parts;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let link = partLinks.shift(); link; link = partLinks.shift()) {
          const start = (link.part_number - 1) * session.part_size;
          const res = await putLink({ url: link.url, headers: {} }, gib.subarray(start, start + link.size));
          if (!res.ok) throw new Error(`part ${link.part_number}: ${res.status}`);
        }
      }),
    );
    const completed = await fetch(`${api}/v1/uploads/sessions/${session.session_id}/complete`, {
      method: "POST",
      headers: auth,
    });
    if (completed.status !== 201) throw new Error(`complete answered ${completed.status}`);
    const partsSeconds = (performance.now() - partsStarted) / 1000;
    rows.push({
      measure: "1 GiB upload: resumable session, 4 parts in flight",
      goal: ">= 0.80 of one direct PUT",
      figures: [
        { peer: "direct PUT", value: 1024 / directGib, unit: "MiB/s" },
        { peer: "session parts", value: 1024 / partsSeconds, unit: "MiB/s" },
      ],
      ratio: { value: directGib / partsSeconds, of: "parts / direct", met: directGib / partsSeconds >= 0.8 },
    });

    // 5. Memory: 32 concurrent 100 MiB uploads through an API process started for this measure (the
    // one above keeps the heap the earlier floods grew), peak RSS sampled every 50 ms; and the wall
    // time of the same 32 as direct PUTs.
    log("32 concurrent 100 MiB uploads: a fresh API process's peak memory, and wall time against direct PUTs");
    cpu.clear();
    const fresh = await startApi();
    const idle = rssBytes(fresh.pid);
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(fresh.pid));
    }, 50);
    const concurrentUploads = async () => {
      const results = await Promise.all(Array.from({ length: 32 }, () => uploadForm(`${fresh.url}/v1/uploads`, big)));
      return results.find((r) => !r.ok) ?? (results[0] as Answer);
    };
    // Both peers' turns count the fresh API process, not the long-lived one (idle here).
    const counted = { ...processes, api: fresh.pid };
    const apiWall = await withCpu("api", () => timeOf(concurrentUploads), counted);
    clearInterval(sampler);
    const directLinks = await Promise.all(Array.from({ length: 32 }, () => presignPut(big.length)));
    const directWall = await withCpu(
      "direct",
      () =>
        timeOf(async () => {
          const results = await Promise.all(directLinks.map((link) => putLink(link, big)));
          return results.find((r) => !r.ok) ?? (results[0] as Answer);
        }),
      counted,
    );
    rows.push({
      measure: "32 concurrent 100 MiB uploads",
      goal: "peak API RSS < 256 MiB, wall time <= 1.1x direct",
      figures: [
        { peer: "API peak RSS", value: peak / MiB, unit: `MiB (idle ${(idle / MiB).toFixed(0)} MiB)` },
        { peer: "API wall time", value: apiWall, unit: "s" },
        { peer: "direct wall time", value: directWall, unit: "s" },
      ],
      ratio: {
        value: apiWall / directWall,
        of: "wall time API / direct",
        met: peak < 256 * MiB && apiWall <= 1.1 * directWall,
      },
      cpu: `the 32 uploads: ${cpuOf("direct", 1)}; ${cpuOf("api", 1)}; wall: direct ${directWall.toFixed(1)} s, api ${apiWall.toFixed(1)} s`,
      profile: () => fresh.profiler.during(concurrentUploads),
    });

    // 6. A no-op preview of the program against the local MinIO, against an empty program's.
    log("no-op pulumi preview: the program on the local MinIO, against an empty program");
    const program = await noOpPreviews(
      root,
      externalTargetConfigMap(hot, cold, {
        // Other names than the measures' buckets, which the program would refuse as not its own.
        "workflow-studio-storage:uploadsBucket": { value: "bench-uploads" },
        "workflow-studio-storage:artifactsBucket": { value: "bench-artifacts" },
        "workflow-studio-storage:ephemeral": { value: "true" },
      }),
      join(dir, "preview-profiles"),
    );
    const empty = await noOpPreviews(join(root, "bench", "empty-program"), {});
    rows.push({
      measure: "no-op `pulumi preview`",
      goal: "program <= 2.0x an empty program",
      figures: [
        { peer: "program (external target, local MinIO)", value: program.seconds, unit: "s" },
        { peer: "empty program", value: empty.seconds, unit: "s" },
      ],
      ratio: {
        value: program.seconds / empty.seconds,
        of: "program / empty",
        met: program.seconds / empty.seconds <= 2,
      },
      cpu: "-",
      profiled: program.processes,
    });

    // Profiles last, so the profiler cannot slow a measure down.
    log("where the time goes: the API's side of each measure again, profiled");
    const nameSource = sourceNamer(root, `${bundle.file}.map`);
    const profiles = new Map<Row, string>();
    for (const row of rows) if (row.profile) profiles.set(row, profileSummary(await row.profile(), nameSource));

    const table = render(rows);
    const where = renderWhere(rows, profiles);
    console.log(`\n${table}\n\n${where}`);
    writeReport(
      join(root, "BENCHMARKS.md"),
      `# Benchmarks\n\nWritten by \`npm run bench\` (bench/run.mts) on ${new Date().toISOString().slice(0, 10)}, in ${((Date.now() - started) / 1000).toFixed(0)} s.\nMachine: ${machineDescription()}.\nEvery peer ran against the same MinIO on loopback, one after the other, in one run: only the ratios\nare meant to be compared; absolute figures vary between machines.\n\n${table}\n\n## Where the time goes\n\nThe CPU each process spent during each peer's turn (/proc), and a V8 profile of the API (or of the\npreview's Node.js processes) taken after the measures, its busy time summed by the package or project\nfile each function comes from; a bare name is a native function (writev: socket writes; crc32: part\nchecksums; indexOfBuffer: the multipart parser's boundary search; program: native code V8 cannot\nname). All processes share the machine's cores.\n\n${where}\n`,
    );
    log(`BENCHMARKS.md written (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    // Whatever failed stays the error: the cleanup only logs its own trouble.
    for (const profiler of profilers) profiler.close();
    for (const child of children) child.kill("SIGTERM");
    await stopEnvironment({ dir: join(dir, "minio"), purge: true }).catch((err: Error) => console.error(err.message));
    rmSync(dir, { recursive: true, force: true });
  }
}

function renderWhere(rows: Row[], profiles: Map<Row, string>): string {
  return markdownTable(
    ["measure", "CPU", "profile"],
    rows.filter((row) => row.cpu).map((row) => [row.measure, row.cpu ?? "", profiles.get(row) ?? row.profiled ?? ""]),
  );
}

function render(rows: Row[]): string {
  return markdownTable(
    ["measure", "goal", "figures", "ratio", "goal met"],
    rows.map((row) => [
      row.measure,
      row.goal,
      // Seconds to a tenth; rates and sizes to the unit.
      row.figures.map((f) => `${f.peer}: ${f.value.toFixed(f.unit === "s" ? 1 : 0)} ${f.unit}`).join("\n"),
      row.ratio ? `${row.ratio.of} ${row.ratio.value.toFixed(2)}${row.note ? `; ${row.note}` : ""}` : "",
      row.ratio?.met ? "yes" : "no",
    ]),
  );
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`error: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);

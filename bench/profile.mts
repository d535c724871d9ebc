// Where a measure's time goes, for BENCHMARKS.md: the CPU each process spent (from /proc), and V8
// CPU profiles of the API taken through its inspector, summed by the package or project file each
// function comes from (through the bundle's source map). On a machine whose cores MinIO, the API and
// the load generator share, a ratio is mostly a ratio of CPU spent: these say whose.
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ, the same on every architecture). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces), from field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * Starts counting the CPU of the named processes and of this one (as "client": the load generator);
 * the function returned answers the seconds each used since.
 */
export function cpuMeter(pids: Record<string, number>): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const self = process.cpuUsage();
  return () => {
    const spent = Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid) - (before[name] ?? 0)]),
    );
    const client = process.cpuUsage(self);
    return { ...spent, client: (client.user + client.system) / 1e6 };
  };
}

/** `{ api: 0.52, minio: 0.41 }` as "API 0.52 s + MinIO 0.41 s", divided by `per`. */
export function cpuText(spent: Record<string, number>, per = 1): string {
  const names: Record<string, string> = { api: "API", minio: "MinIO", seed: "seed", client: "client" };
  return Object.entries(spent)
    .map(([name, seconds]) => `${names[name] ?? name} ${(seconds / per).toFixed(2)} s`)
    .join(" + ");
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

/** A V8 CPU profile (the inspector's Profiler.stop, or a .cpuprofile file). */
export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

/** A process's V8 profiler, reached through its inspector (node --inspect=127.0.0.1:PORT). */
export interface Profiler {
  during(work: () => Promise<unknown>): Promise<CpuProfile>;
  close(): void;
}

export async function connectProfiler(inspectorPort: number): Promise<Profiler> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectorPort}`);
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error(`cannot reach the inspector at ${url}`));
  });
  const pending = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
    };
    if (message.id !== undefined) pending.get(message.id)?.(message);
  };
  let lastId = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++lastId;
      pending.set(id, (message) => {
        pending.delete(id);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result);
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  // 1 ms between samples: fine enough for a few seconds of work, cheap enough not to move it.
  await call("Profiler.setSamplingInterval", { interval: 1000 });
  return {
    async during(work) {
      let stopped: { profile: CpuProfile } | undefined;
      await call("Profiler.start");
      try {
        await work();
      } finally {
        // The profiler is stopped whether the work succeeded or not; a failure stays the error.
        stopped = (await call("Profiler.stop")) as { profile: CpuProfile };
      }
      return stopped.profile;
    },
    close: () => socket.close(),
  };
}

/** Names a function's source: a package by name, a project file, a part of Node.js, or V8's own. */
export type SourceNamer = (frame: CallFrame) => string;

/**
 * A SourceNamer for the processes of the project under `root`, whose code runs from its files (the
 * Pulumi program) or from a bundle with a source map (`bundleMap`: the API).
 */
export function sourceNamer(root: string, bundleMap?: string): SourceNamer {
  const map = bundleMap ? new SourceMap(JSON.parse(readFileSync(bundleMap, "utf8"))) : undefined;
  const bundle = bundleMap ? pathToFileURL(bundleMap.replace(/\.map$/, "")).href : undefined;
  return (frame) => {
    if (!frame.url) return frame.functionName.replace(/^\((.*)\)$/, "$1");
    if (frame.url.startsWith("node:")) return `node:${frame.url.replace(/^node:(internal\/)?/, "").split("/")[0]}`;
    let file = frame.url.startsWith("file:") ? fileURLToPath(frame.url) : frame.url;
    if (map && frame.url === bundle) {
      const entry = map.findEntry(frame.lineNumber, frame.columnNumber);
      if ("originalSource" in entry) file = resolve(dirname(bundleMap as string), entry.originalSource);
    }
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
    if (pkg) return pkg;
    const inProject = relative(root, file);
    return inProject.startsWith("..") ? "other files" : inProject;
  };
}

/**
 * The profile's busy time by source, largest first, as "minio 31%, node:streams 12%, ..." of the time
 * not idle; the `top` largest, the rest summed.
 */
export function profileSummary(profile: CpuProfile, nameSource: SourceNamer, top = 7): string {
  const bySource = busyTime(profile, nameSource);
  const busy = [...bySource.values()].reduce((a, b) => a + b, 0);
  const sorted = [...bySource].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, top).map(([source, us]) => `${source} ${Math.round((100 * us) / busy)}%`);
  const rest = sorted.slice(top).reduce((sum, [, us]) => sum + us, 0);
  if (rest > 0) shown.push(`other ${Math.round((100 * rest) / busy)}%`);
  return `${(busy / 1e6).toFixed(1)} s busy: ${shown.join(", ")}`;
}

/** Microseconds of the profile's busy (not idle) samples, by source. */
function busyTime(profile: CpuProfile, nameSource: SourceNamer): Map<string, number> {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const bySource = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    if (!frame || frame.functionName === "(idle)") return;
    const source = nameSource(frame);
    bySource.set(source, (bySource.get(source) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return bySource;
}

/** Seconds the profiled process was busy. */
export function busySeconds(profile: CpuProfile): number {
  return [...busyTime(profile, () => "").values()].reduce((a, b) => a + b, 0) / 1e6;
}

import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RefreshResult, Stack } from "@pulumi/pulumi/automation";

/**
 * Killing a running `pulumi` the way a crash, an OOM kill or a lost CI runner does (SIGKILL, no
 * chance to clean up), and the documented recovery after it.
 *
 * The Automation API runs the CLI as a direct child of the test process. The CLI starts the language
 * host and the provider plugins (the dynamic providers run in one of them) each in a process group of
 * its own, so they survive a kill of the CLI alone and go on talking to MinIO: a real crash of the
 * machine kills them too, so this does.
 */

interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  comm: string;
}

/** Every process, from /proc/<pid>/stat (comm may hold spaces and parentheses: split at the last `)`). */
function processTable(): ProcessInfo[] {
  const table: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const [state = "", ppid = "", pgid = ""] = stat.slice(close + 2).split(" ");
      table.push({
        pid: Number(entry),
        ppid: Number(ppid),
        pgid: Number(pgid),
        state,
        comm: stat.slice(stat.indexOf("(") + 1, close),
      });
    } catch {
      // The process ended while we listed: nothing to kill there.
    }
  }
  return table;
}

/** The processes under `root` (not `root` itself), at this instant. */
function descendants(root: number, table = processTable()): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  const walk = (parent: number) => {
    for (const p of table) {
      if (p.ppid === parent) {
        found.push(p);
        walk(p.pid);
      }
    }
  };
  walk(root);
  return found;
}

/** True while the process runs; a zombie (dead, waiting for its parent to reap it) does not count. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already.
  }
}

export interface KilledEngine {
  /** The CLI and every process it had started, as they were when killed. */
  processes: { pid: number; comm: string }[];
}

/**
 * SIGKILLs the `pulumi` CLI this test process runs and everything it started. The tree is frozen
 * first (SIGSTOP, repeated until it stops growing), so no plugin started between the listing and the
 * kill escapes; then every process is killed, and every process group of the tree other than the
 * test's own. Only the CLI's tree is walked: the test's other children (the MinIO servers) are left
 * alone. Resolves once none of them runs any more.
 */
export async function killEngine(): Promise<KilledEngine> {
  const table = processTable();
  const ownGroup = table.find((p) => p.pid === process.pid)?.pgid;
  const clis = table.filter((p) => p.ppid === process.pid && p.comm === "pulumi" && p.state !== "Z");
  if (clis.length === 0) throw new Error("no running pulumi CLI to kill under this test process");

  const tree = new Map<number, ProcessInfo>(clis.map((p) => [p.pid, p]));
  for (;;) {
    for (const p of tree.values()) signal(p.pid, "SIGSTOP");
    const now = processTable();
    const grown = clis.flatMap((cli) => descendants(cli.pid, now)).filter((p) => !tree.has(p.pid));
    if (grown.length === 0) break;
    for (const p of grown) tree.set(p.pid, p);
  }
  for (const group of new Set([...tree.values()].map((p) => p.pgid))) {
    if (group !== ownGroup) signal(-group, "SIGKILL");
  }
  for (const p of tree.values()) signal(p.pid, "SIGKILL");

  const pids = [...tree.keys()];
  const deadline = Date.now() + 10_000;
  while (pids.some(isRunning)) {
    if (Date.now() > deadline) throw new Error(`still running after SIGKILL: ${pids.filter(isRunning).join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { processes: [...tree.values()].map(({ pid, comm }) => ({ pid, comm })) };
}

/**
 * The running processes that work on the stack's backend, wherever they now sit in the process tree
 * (a plugin whose CLI died is re-parented): the CLI hands its environment, and so the backend URL,
 * to the language host and to every plugin.
 */
export function processesOfStack(stack: Stack): { pid: number; comm: string }[] {
  const backendUrl = stack.workspace.envVars.PULUMI_BACKEND_URL;
  if (!backendUrl) throw new Error("the stack's workspace names no PULUMI_BACKEND_URL");
  const marker = `\0PULUMI_BACKEND_URL=${backendUrl}\0`;
  return processTable()
    .filter((p) => p.pid !== process.pid && p.state !== "Z")
    .filter((p) => {
      try {
        return `\0${readFileSync(`/proc/${p.pid}/environ`, "latin1")}`.includes(marker);
      } catch {
        return false;
      }
    })
    .map(({ pid, comm }) => ({ pid, comm }));
}

/**
 * A kill can cut a file backend's sidecar: the blob library writes `<file>.attrs` (content type, MD5)
 * in place, not atomically like the file itself, so a SIGKILL at that moment leaves it empty and every
 * later command fails with "failed to load checkpoint: EOF". The sidecar is optional (a missing one
 * reads as defaults), so removing a cut one repairs the backend. Answers the files it removed.
 */
export function removeCutSidecars(backendDir: string): string[] {
  const removed: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".attrs")) {
        try {
          JSON.parse(readFileSync(path, "utf8"));
        } catch {
          rmSync(path);
          removed.push(path);
        }
      }
    }
  };
  walk(backendDir);
  return removed;
}

/**
 * The documented recovery after an engine was killed, before the next `up` or `destroy`:
 * 1. no engine or plugin process of the stack may still run (it would go on changing MinIO and the
 *    state behind the recovery's back): checked, not assumed;
 * 2. `pulumi cancel --yes` removes the lock the killed run left (on a file backend as on others);
 * 3. `pulumi refresh --clear-pending-creates --yes` reads every resource back, drops pending deletes
 *    (read decides whether the thing is still there) and forgets pending creates, which only this
 *    flag removes: the next `up` creates them again, and the providers take back what the killed
 *    create had already made (ownership marks).
 */
export async function recoverAfterKill(stack: Stack, backendDir: string): Promise<RefreshResult> {
  const left = processesOfStack(stack);
  if (left.length > 0) {
    throw new Error(`processes of the killed run still run: ${left.map((p) => `${p.pid} ${p.comm}`).join(", ")}`);
  }
  removeCutSidecars(backendDir);
  await stack.cancel();
  return stack.refresh({ clearPendingCreates: true });
}

// The node's long-running processes: started detached (they outlive `npm run cluster start`), each
// with a log under logs/ and a pid file under run/; stopped with SIGTERM, then SIGKILL after a grace.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive, stopProcess } from "../processes.mts";
import type { ClusterPaths } from "./layout.mts";

export interface Daemon {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

function pidFile(paths: ClusterPaths, name: string): string {
  return join(paths.run, `${name}.pid`);
}

/** The pid of a daemon we started that still runs, else 0. */
export function runningPid(paths: ClusterPaths, name: string): number {
  const file = pidFile(paths, name);
  if (!existsSync(file)) return 0;
  const pid = Number(readFileSync(file, "utf8").trim());
  return isAlive(pid) ? pid : 0;
}

/** Starts a daemon unless it runs already; answers its pid. */
export function startDaemon(paths: ClusterPaths, daemon: Daemon): number {
  const running = runningPid(paths, daemon.name);
  if (running) return running;
  mkdirSync(paths.logs, { recursive: true });
  mkdirSync(paths.run, { recursive: true });
  const log = openSync(join(paths.logs, `${daemon.name}.log`), "a");
  const child = spawn(daemon.command, daemon.args, {
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, ...daemon.env },
  });
  child.unref();
  if (!child.pid) throw new Error(`${daemon.name} did not start (${daemon.command})`);
  writeFileSync(pidFile(paths, daemon.name), String(child.pid));
  return child.pid;
}

/** Stops a daemon and its process group; answers whether it had to be killed. */
export async function stopDaemon(paths: ClusterPaths, name: string, graceMs = 10_000): Promise<boolean> {
  const pid = runningPid(paths, name);
  rmSync(pidFile(paths, name), { force: true });
  return stopProcess(pid, graceMs);
}

/** The last lines of a daemon's log, for an error message. */
export function logTail(paths: ClusterPaths, name: string, lines = 15): string {
  const file = join(paths.logs, `${name}.log`);
  if (!existsSync(file)) return "(no log)";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

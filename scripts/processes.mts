// The project's long-running processes (MinIO servers, the local API, the cluster's daemons) are
// started detached, each the leader of its own process group. One way to ask whether one runs and
// one way to stop one, for all of them.
import { setTimeout as sleep } from "node:timers/promises";

/** Whether a process with this pid runs (0 and negatives never do). */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends a signal to the process group `pid` leads, or to the process alone when it leads none. */
function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // Gone already.
    }
  }
}

/**
 * Stops a process and its group: SIGTERM, then SIGKILL once `graceMs` has passed (at once, with no
 * SIGTERM, when `graceMs` is 0: a crash); resolves when it is gone. Answers whether it had to be killed.
 */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<boolean> {
  if (!isAlive(pid)) return false;
  if (graceMs > 0) signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (!isAlive(pid)) return false;
  signalGroup(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(50);
  return true;
}

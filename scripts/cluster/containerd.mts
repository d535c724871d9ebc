// containerd as the node runs it: `ctr` against our own socket and the CRI's namespace, and what
// `stop` needs beyond stopping the daemon (its containers, and shims that outlive it).
import { execFileSync } from "node:child_process";
import type { ClusterPaths } from "./layout.mts";

/** Runs `ctr` against the node's containerd, in the namespace the kubelet's containers live in. */
export function ctr(paths: ClusterPaths, args: string[]): string {
  return execFileSync("ctr", ["--address", paths.containerdSocket, "--namespace", "k8s.io", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Kills and removes every task (container process) containerd runs for the node. */
export function stopContainers(paths: ClusterPaths): void {
  const ids = () => ctr(paths, ["tasks", "ls", "-q"]).split("\n").filter(Boolean);
  for (const id of ids()) {
    try {
      ctr(paths, ["tasks", "kill", "--all", "--signal", "SIGKILL", id]);
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    for (const id of ids()) {
      try {
        ctr(paths, ["tasks", "delete", "--force", id]);
      } catch {
        // Still stopping; tried again below.
      }
    }
    if (ids().length === 0) return;
    execFileSync("sleep", ["0.2"]);
  }
}

/** Shims of our containerd that outlived it (they run detached), found by our socket in their arguments. */
export function killLeftoverShims(paths: ClusterPaths): void {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  for (const line of out.split("\n")) {
    const [pid, ...args] = line.trim().split(/\s+/);
    if (args[0]?.includes("containerd-shim") && args.join(" ").includes(paths.containerdSocket)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // Gone already.
      }
    }
  }
}

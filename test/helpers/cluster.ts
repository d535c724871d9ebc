// The kubernetes layer's cluster: the project's single-node cluster (npm run cluster). There is one per
// machine (fixed addresses and ports), so test files take it in turn: each holds a lock while it uses
// the cluster, starts it when it is not running and stops it when done, unless it was running already
// (a developer's, kept as found). WSS_TEST_KUBECONFIG points the layer at another cluster instead
// (kind, k3d, ...): it must hold the images the stack config names and a default StorageClass.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { clusterPaths } from "../../scripts/cluster/layout.mts";
import { isAlive } from "../../scripts/processes.mts";
import { PROJECT_ROOT } from "./engine";

const run = promisify(execFile);

export interface TestCluster {
  kubeconfig: string;
  /** kubectl against the cluster, answering its standard output. */
  kubectl(args: string[], input?: string): Promise<string>;
  release(): Promise<void>;
}

const clusterScript = join(PROJECT_ROOT, "scripts", "cluster", "cluster.mts");

export async function clusterCommand(command: "start" | "stop" | "status"): Promise<string> {
  const { stdout } = await run(process.execPath, [clusterScript, command], {
    cwd: PROJECT_ROOT,
    maxBuffer: 16 * 1024 * 1024,
    timeout: 600_000,
  });
  return stdout;
}

function kubectlBinary(): string {
  return process.env.WSS_TEST_KUBECTL ?? "kubectl";
}

// Machine-wide, not per checkout: the cluster's addresses and ports are the machine's.
const lockDir = join(tmpdir(), "workflow-studio-storage-cluster.test-lock");

/** Waits until no other test process holds the cluster, then holds it (a lock folder naming our pid). */
export async function lockCluster(): Promise<() => void> {
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, "pid"), String(process.pid));
      return () => rmSync(lockDir, { recursive: true, force: true });
    } catch {
      const holder = Number(existsSync(join(lockDir, "pid")) ? readFileSync(join(lockDir, "pid"), "utf8") : "0");
      // A holder that died (or one caught between mkdir and writing its pid, given a moment) is gone.
      if (holder > 0 && !isAlive(holder)) rmSync(lockDir, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export async function useCluster(): Promise<TestCluster> {
  const external = process.env.WSS_TEST_KUBECONFIG;
  const unlock = external ? () => undefined : await lockCluster();
  const kubeconfig = external ?? clusterPaths().kubeconfig;
  let startedHere = false;
  if (!external) {
    const status = existsSync(kubeconfig) ? await clusterCommand("status") : "";
    if (!/kube-apiserver\s+running/.test(status)) {
      await clusterCommand("start");
      startedHere = true;
    }
  }
  const kubectl = async (args: string[], input?: string) => {
    const child = run(kubectlBinary(), ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 64 * 1024 * 1024 });
    if (input !== undefined) child.child.stdin?.end(input);
    return (await child).stdout;
  };
  return {
    kubeconfig,
    kubectl,
    async release() {
      try {
        if (startedHere) await clusterCommand("stop");
      } finally {
        unlock();
      }
    },
  };
}

// What the cluster changes on the host, and how `stop` puts it back: the node address on lo, the
// sysctls the node's daemons set, iptables chains (kube-proxy's KUBE-*, the CNI's CNI-*, our guard),
// the pods' bridge and network namespaces, mounts, cgroups and the runtime's folders outside ours.
// `start` records the host's state once (host-state.json); `stop` restores it and removes the file.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BRIDGE, GUARD_CHAIN, NODE_IP, POD_CIDR } from "./layout.mts";

/** Sysctls the node's daemons (or we) change: kubelet, kube-proxy, and forwarding for the bridge. */
const SYSCTLS = [
  "net/ipv4/ip_forward",
  "net/ipv4/conf/all/route_localnet",
  "net/bridge/bridge-nf-call-iptables",
  "net/bridge/bridge-nf-call-ip6tables",
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
];

/** Folders the runtime makes outside our own, removed on stop when they did not exist before. */
const RUNTIME_FOLDERS = ["/run/containerd", "/var/lib/cni", "/run/netns", "/var/run/netns", "/var/lib/kubelet"];

interface HostState {
  sysctls: Record<string, string>;
  absentFolders: string[];
  loAddressAdded: boolean;
}

function sh(cmd: string, args: string[], options: { quiet?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    if (options.quiet) return "";
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function readSysctl(name: string): string | undefined {
  const file = join("/proc/sys", name);
  return existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
}

function writeSysctl(name: string, value: string): void {
  const file = join("/proc/sys", name);
  if (existsSync(file) && readSysctl(name) !== value) writeFileSync(file, `${value}\n`);
}

function hasLoAddress(): boolean {
  return sh("ip", ["-4", "-o", "addr", "show", "dev", "lo"]).includes(` ${NODE_IP}/32`);
}

/**
 * Prepares the host for the node, recording first what it changes. Idempotent: a second call keeps
 * the first record, which holds the host as it was before any start.
 */
export function prepareHost(stateFile: string): void {
  if (!existsSync(stateFile)) {
    // br_netfilter makes bridged pod traffic pass iptables, which Services (DNAT) need.
    sh("modprobe", ["br_netfilter"], { quiet: true });
    const state: HostState = {
      sysctls: Object.fromEntries(
        SYSCTLS.flatMap((s) => (readSysctl(s) === undefined ? [] : [[s, readSysctl(s) as string]])),
      ),
      absentFolders: RUNTIME_FOLDERS.filter((f) => !existsSync(f)),
      loAddressAdded: !hasLoAddress(),
    };
    writeFileSync(stateFile, JSON.stringify(state, null, 2));
  }
  if (!hasLoAddress()) sh("ip", ["addr", "add", `${NODE_IP}/32`, "dev", "lo"]);
  writeSysctl("net/ipv4/ip_forward", "1");
  writeSysctl("net/bridge/bridge-nf-call-iptables", "1");
  installGuard();
}

/**
 * Forwarding is on while the cluster runs; our guard drops what pods would send through any other
 * interface than their bridge, so no pod packet leaves this machine even if a route said otherwise.
 */
function installGuard(): void {
  if (sh("iptables", ["-S", GUARD_CHAIN], { quiet: true }) === "") sh("iptables", ["-N", GUARD_CHAIN]);
  sh("iptables", ["-F", GUARD_CHAIN]);
  sh("iptables", ["-A", GUARD_CHAIN, "-s", POD_CIDR, "!", "-o", BRIDGE, "-j", "DROP"]);
  sh("iptables", ["-A", GUARD_CHAIN, "-d", POD_CIDR, "!", "-i", BRIDGE, "-j", "DROP"]);
  if (!ruleExists()) sh("iptables", ["-I", "FORWARD", "1", "-j", GUARD_CHAIN]);
}

function ruleExists(): boolean {
  try {
    execFileSync("iptables", ["-C", "FORWARD", "-j", GUARD_CHAIN], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Chains the cluster's parts make: kube-proxy and kubelet (KUBE-), CNI plugins (CNI-), ours. */
const OUR_CHAIN = /^(KUBE-|CNI-|WSS-)/;

/**
 * Removes our chains and every rule that jumps to them from one iptables family, keeping all else:
 * the saved ruleset, filtered, restored whole (atomic per table).
 */
function removeChains(family: "iptables" | "ip6tables"): void {
  const saved = sh(`${family}-save`, [], { quiet: true });
  if (!saved) return;
  const kept = saved
    .split("\n")
    .filter((line) => {
      if (line.startsWith(":")) return !OUR_CHAIN.test(line.slice(1));
      if (line.startsWith("-A ")) {
        const [, chain] = line.split(" ");
        const target = / -[jg] (\S+)/.exec(line)?.[1] ?? "";
        return !OUR_CHAIN.test(chain ?? "") && !OUR_CHAIN.test(target);
      }
      return true;
    })
    .join("\n");
  if (kept !== saved) execFileSync(`${family}-restore`, [], { input: kept, stdio: ["pipe", "ignore", "pipe"] });
}

/** Mount points under any of `prefixes`, deepest first. */
function mountsUnder(prefixes: string[]): string[] {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => (line.split(" ")[1] ?? "").replace(/\\040/g, " "))
    .filter((mount) => prefixes.some((p) => mount === p || mount.startsWith(`${p}/`)))
    .sort((a, b) => b.length - a.length);
}

export function unmountUnder(prefixes: string[]): void {
  for (const mount of mountsUnder(prefixes)) sh("umount", ["-l", mount], { quiet: true });
}

/** The kubelet's cgroups (kubepods and its children, in every v1 hierarchy), removed leaf first. */
function removeCgroups(): void {
  const roots = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];
  for (const base of roots) {
    if (!existsSync(base)) continue;
    for (const controller of readdirSync(base)) {
      for (const top of ["kubepods", "kubepods.slice"]) removeTree(join(base, controller, top));
    }
    removeTree(join(base, "kubepods"));
  }
}

function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // A cgroup with a process still in it stays; stop reports what it could not remove.
  }
}

/** Puts the host back as prepareHost found it. Safe to call when nothing (or part) was started. */
export function restoreHost(stateFile: string, clusterFolder: string): string[] {
  const problems: string[] = [];
  const state: HostState | undefined = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, "utf8")) : undefined;
  // Pod network namespaces (containerd names them cni-*): deleting one deletes its veth.
  for (const dir of ["/run/netns", "/var/run/netns"]) {
    if (!existsSync(dir)) continue;
    for (const ns of readdirSync(dir).filter((n) => n.startsWith("cni-"))) {
      sh("umount", ["-l", join(dir, ns)], { quiet: true });
      rmSync(join(dir, ns), { force: true });
    }
  }
  sh("ip", ["link", "delete", BRIDGE], { quiet: true });
  removeChains("iptables");
  removeChains("ip6tables");
  unmountUnder([clusterFolder, "/run/containerd", "/var/lib/kubelet"]);
  removeCgroups();
  if (state) {
    for (const [name, value] of Object.entries(state.sysctls)) {
      try {
        writeSysctl(name, value);
      } catch (err) {
        problems.push(`sysctl ${name}: ${(err as Error).message}`);
      }
    }
    if (state.loAddressAdded && hasLoAddress())
      sh("ip", ["addr", "del", `${NODE_IP}/32`, "dev", "lo"], { quiet: true });
    for (const folder of state.absentFolders) rmSync(folder, { recursive: true, force: true });
    rmSync(stateFile, { force: true });
  }
  if (mountsUnder([clusterFolder]).length > 0) problems.push("some mounts under the cluster's folder remain");
  return problems;
}

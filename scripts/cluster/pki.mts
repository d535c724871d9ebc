// The cluster's certificates, made with openssl once and kept: one CA signs the API server's serving
// certificate, the kubelet's, and a client certificate per component (its name is its identity to
// RBAC: system:kube-scheduler, system:node:<node> in system:nodes, ...). A second start reuses them.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLUSTER_DOMAIN, KUBERNETES_SERVICE_IP, NODE_IP, NODE_NAME } from "./layout.mts";

export interface Certificate {
  cert: string;
  key: string;
}

/** Who each client certificate names: CN is the user, O the group. */
export const CLIENTS = {
  admin: { cn: "wss-admin", o: "system:masters" },
  controllerManager: { cn: "system:kube-controller-manager" },
  scheduler: { cn: "system:kube-scheduler" },
  kubelet: { cn: `system:node:${NODE_NAME}`, o: "system:nodes" },
  proxy: { cn: "system:kube-proxy" },
  // The API server's identity to the kubelet (logs, exec, port-forward).
  apiServerToKubelet: { cn: "kube-apiserver-kubelet-client", o: "system:masters" },
} as const;

export type ClientName = keyof typeof CLIENTS;

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function subject(cn: string, o?: string): string {
  return o ? `/O=${o}/CN=${cn}` : `/CN=${cn}`;
}

const pair = (dir: string, name: string): Certificate => ({
  cert: join(dir, `${name}.crt`),
  key: join(dir, `${name}.key`),
});

/** Where each certificate and key of the cluster is, under `dir` (made or not). */
export function pkiFiles(dir: string): ClusterPki {
  return {
    ca: pair(dir, "ca"),
    apiServer: pair(dir, "apiserver"),
    kubeletServing: pair(dir, "kubelet-serving"),
    clients: Object.fromEntries(Object.keys(CLIENTS).map((name) => [name, pair(dir, `client-${name}`)])) as Record<
      ClientName,
      Certificate
    >,
    serviceAccount: { key: join(dir, "service-account.key"), pub: join(dir, "service-account.pub") },
  };
}

/** A key and a certificate signed by the CA, with the given extensions; kept when both exist. */
function sign(out: Certificate, subj: string, extensions: string[], ca: Certificate): void {
  if (existsSync(out.cert) && existsSync(out.key)) return;
  const name = out.cert.replace(/\.crt$/, "");
  const csr = `${name}.csr`;
  const ext = `${name}.ext`;
  writeFileSync(ext, `${extensions.join("\n")}\n`);
  openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", out.key, "-out", csr, "-subj", subj]);
  openssl(
    ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "3650"].concat([
      "-sha256",
      "-extfile",
      ext,
      "-out",
      out.cert,
    ]),
  );
  rmSync(csr, { force: true });
  rmSync(ext, { force: true });
}

export interface ClusterPki {
  ca: Certificate;
  apiServer: Certificate;
  kubeletServing: Certificate;
  clients: Record<ClientName, Certificate>;
  /** The service-account token signing pair. */
  serviceAccount: { key: string; pub: string };
}

/** Makes (or reuses) every certificate and key under `dir`. */
export function ensurePki(dir: string): ClusterPki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = pkiFiles(dir);
  const { ca } = files;
  if (!existsSync(ca.cert) || !existsSync(ca.key)) {
    openssl(
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca.key, "-out", ca.cert].concat([
        "-days",
        "3650",
        "-subj",
        "/CN=workflow-studio-storage-cluster-ca",
      ]),
    );
  }
  const serving = (names: string[], ips: string[]) => [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    `subjectAltName=${[...names.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)].join(",")}`,
  ];
  const client = [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=clientAuth",
  ];
  const serviceNames = [
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    `kubernetes.default.svc.${CLUSTER_DOMAIN}`,
  ];
  sign(
    files.apiServer,
    subject("kube-apiserver"),
    serving(["localhost", ...serviceNames], ["127.0.0.1", NODE_IP, KUBERNETES_SERVICE_IP]),
    ca,
  );
  sign(files.kubeletServing, subject(NODE_NAME), serving([NODE_NAME, "localhost"], [NODE_IP, "127.0.0.1"]), ca);
  for (const [name, who] of Object.entries(CLIENTS)) {
    sign(files.clients[name as ClientName], subject(who.cn, "o" in who ? who.o : undefined), client, ca);
  }
  if (!existsSync(files.serviceAccount.key)) {
    openssl(["genrsa", "-out", files.serviceAccount.key, "2048"]);
    openssl(["rsa", "-in", files.serviceAccount.key, "-pubout", "-out", files.serviceAccount.pub]);
  }
  return files;
}

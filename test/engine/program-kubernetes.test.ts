import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  DEFAULT_MAX_FILES_PER_REQUEST,
  DEFAULT_MAX_UPLOAD_BYTES,
  largestApiRequestBytes,
  largestUploadRequestBytes,
} from "../../rules/api-settings";
import { PUBLIC_API_PATHS, proxyTimeoutSeconds } from "../../rules/ingress";
import { toolchain } from "../../scripts/cluster/toolchain.mts";
import { createEphemeralStack, type EphemeralStack } from "../helpers/engine";
import { loadApiSchema } from "../helpers/openapi-fields";

const root = join(__dirname, "..", "..");

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are plain, untyped YAML
  [key: string]: any;
};

function readManifests(dir: string): Manifest[] {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  return files.flatMap((f) =>
    parseAllDocuments(readFileSync(join(f.parentPath, f.name), "utf8")).map((d) => d.toJS() as Manifest),
  );
}

// The kubernetes target of the real program through the real engine and the real Kubernetes
// provider, which renders manifests to a folder instead of a cluster (none runs here).
describe("the program, kubernetes target, rendered by the real Kubernetes provider", () => {
  let eph: EphemeralStack;
  let manifests: Manifest[];
  const out = mkdtempSync(join(tmpdir(), "wss-manifests-"));
  const find = (kind: string, name: string) => {
    const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name} in ${manifests.map((m) => `${m.kind}/${m.metadata.name}`)}`);
    return found;
  };

  beforeAll(async () => {
    eph = await createEphemeralStack(root, {
      "workflow-studio-storage:target": { value: "kubernetes" },
      "workflow-studio-storage:renderYamlTo": { value: out },
      "workflow-studio-storage:namespace": { value: "wss-render" },
      "workflow-studio-storage:minioImage": { value: "workflow-studio/minio:2026-02-12-7aac2a2c5b7c" },
      "workflow-studio-storage:minioMode": { value: "distributed" },
      "workflow-studio-storage:minioReplicas": { value: "4" },
      "workflow-studio-storage:minioDrivesPerPod": { value: "2" },
      "workflow-studio-storage:minioPublicEndpoint": { value: "https://files.example.com" },
      "workflow-studio-storage:managementSources": { value: "10.20.0.0/16" },
      "workflow-studio-storage:apiIngressHost": { value: "storage-api.example.com" },
      "workflow-studio-storage:apiIngressTlsSecret": { value: "storage-api-tls" },
      "workflow-studio-storage:minioPublicIngress": { value: "true" },
      "workflow-studio-storage:minioIngressTlsSecret": { value: "files-tls" },
      "workflow-studio-storage:prometheusNamespaceLabels": { value: "kubernetes.io/metadata.name=observability" },
    });
  });
  afterAll(async () => {
    await eph?.dispose();
    rmSync(out, { recursive: true, force: true });
  });

  it("previews and renders every manifest", async () => {
    const preview = await eph.stack.preview();
    expect(preview.changeSummary.create).toBeGreaterThan(15);
    const up = await eph.stack.up();
    expect(up.summary.result).toBe("succeeded");
    manifests = readManifests(out);
    const kinds = new Set(manifests.map((m) => m.kind));
    for (const kind of ["Namespace", "StatefulSet", "Service", "Secret", "PodDisruptionBudget", "NetworkPolicy"]) {
      expect(kinds).toContain(kind);
    }
    for (const kind of ["Deployment", "ConfigMap", "Ingress"]) expect(kinds).toContain(kind);
  });

  it("renders the hot cluster distributed over the headless service, hardened and probed", () => {
    const sts = find("StatefulSet", "hot");
    expect(sts.spec.replicas).toBe(4);
    expect(sts.spec.podManagementPolicy).toBe("Parallel");
    const container = sts.spec.template.spec.containers[0];
    expect(container.args[1]).toBe("http://hot-{0...3}.hot-hl.wss-render.svc.cluster.local:9000/data/{0...1}");
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.readinessProbe.httpGet.path).toBe("/minio/health/ready");
    expect(find("PodDisruptionBudget", "hot").spec.maxUnavailable).toBe(1);
    expect(find("StatefulSet", "cold").spec.replicas).toBe(1);
  });

  // Both selectors in one peer: pods with these labels in namespaces with those, not either.
  const prometheusPeer = {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } },
    podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
  };
  const controllerPeer = {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } },
    podSelector: {
      matchLabels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
    },
  };

  it("lets only its own peers, the API (hot), the hot cluster (cold), Prometheus, the ingress controller (hot) and management CIDRs reach MinIO", () => {
    // Exactly these peers: an extra one would widen who reaches MinIO. The CIDRs stay managementSources.
    const hot = find("NetworkPolicy", "hot").spec;
    expect(hot.ingress).toHaveLength(1);
    expect(hot.ingress[0].ports).toEqual([{ protocol: "TCP", port: 9000 }]);
    expect(hot.ingress[0].from).toEqual([
      { podSelector: { matchLabels: { "app.kubernetes.io/name": "minio", "app.kubernetes.io/instance": "hot" } } },
      { podSelector: { matchLabels: { "app.kubernetes.io/name": "upload-api" } } },
      prometheusPeer,
      controllerPeer,
      { ipBlock: { cidr: "10.20.0.0/16" } },
    ]);
    const coldPeers = find("NetworkPolicy", "cold").spec.ingress.flatMap((rule: { from: unknown[] }) => rule.from);
    expect(coldPeers).toEqual([
      { podSelector: { matchLabels: { "app.kubernetes.io/name": "minio", "app.kubernetes.io/instance": "cold" } } },
      { podSelector: { matchLabels: { "app.kubernetes.io/name": "minio", "app.kubernetes.io/instance": "hot" } } },
      prometheusPeer,
      { ipBlock: { cidr: "10.20.0.0/16" } },
    ]);
  });

  it("keeps the API's metrics port to Prometheus; its own port stays open to the cluster", () => {
    expect(find("NetworkPolicy", "upload-api").spec).toEqual({
      podSelector: {
        matchLabels: { "app.kubernetes.io/name": "upload-api", "app.kubernetes.io/instance": "upload-api" },
      },
      policyTypes: ["Ingress"],
      ingress: [
        { ports: [{ protocol: "TCP", port: 8080 }] },
        { from: [prometheusPeer], ports: [{ protocol: "TCP", port: 9464 }] },
      ],
    });
  });

  const streaming = (largestRequestBytes: number) => ({
    "nginx.ingress.kubernetes.io/proxy-body-size": String(largestRequestBytes),
    "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
    "nginx.ingress.kubernetes.io/proxy-buffering": "off",
    "nginx.ingress.kubernetes.io/proxy-read-timeout": String(proxyTimeoutSeconds(largestRequestBytes)),
    "nginx.ingress.kubernetes.io/proxy-send-timeout": String(proxyTimeoutSeconds(largestRequestBytes)),
  });

  it("publishes the API with TLS and ingress-nginx's streaming settings, on its public routes only", () => {
    const ingress = find("Ingress", "upload-api");
    expect(ingress.metadata.annotations).toEqual(
      streaming(largestApiRequestBytes(DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_MAX_FILES_PER_REQUEST)),
    );
    expect(ingress.spec.ingressClassName).toBe("nginx");
    expect(ingress.spec.tls).toEqual([{ hosts: ["storage-api.example.com"], secretName: "storage-api-tls" }]);
    expect(ingress.spec.rules).toEqual([
      {
        host: "storage-api.example.com",
        http: {
          paths: PUBLIC_API_PATHS.map((p) => ({
            ...p,
            backend: { service: { name: "upload-api", port: { number: 80 } } },
          })),
        },
      },
    ]);
  });

  it("publishes presigned links' host: the buckets' paths to the hot MinIO's S3 port, no /minio/", () => {
    const ingress = find("Ingress", "hot-public");
    expect(ingress.metadata.annotations).toEqual(streaming(largestUploadRequestBytes(DEFAULT_MAX_UPLOAD_BYTES)));
    expect(ingress.spec.ingressClassName).toBe("nginx");
    expect(ingress.spec.tls).toEqual([{ hosts: ["files.example.com"], secretName: "files-tls" }]);
    expect(ingress.spec.rules).toEqual([
      {
        host: "files.example.com",
        http: {
          paths: ["/user-uploads", "/workflow-artifacts"].map((path) => ({
            path,
            pathType: "Prefix",
            backend: { service: { name: "hot", port: { number: 9000 } } },
          })),
        },
      },
    ]);
  });

  it("no Ingress routes a probe, metrics or MinIO's own endpoints, and the Services carry no metrics port", () => {
    const ingresses = manifests.filter((m) => m.kind === "Ingress");
    expect(ingresses.map((m) => m.metadata.name).sort()).toEqual(["hot-public", "upload-api"]);
    const paths: string[] = ingresses.flatMap((m) =>
      m.spec.rules.flatMap((r: { http: { paths: { path: string }[] } }) => r.http.paths.map((p) => p.path)),
    );
    for (const path of paths) expect(path).not.toMatch(/^\/($|minio|metrics|healthz|readyz)/);
    for (const service of manifests.filter((m) => m.kind === "Service")) {
      const ports = service.spec.ports.flatMap((p: { port: number; targetPort: number }) => [p.port, p.targetPort]);
      expect([service.metadata.name, ports.includes(9464)]).toEqual([service.metadata.name, false]);
    }
  });

  it("runs the API from the bundle with its environment wired from the stack", () => {
    const deployment = find("Deployment", "upload-api");
    const env = Object.fromEntries(
      deployment.spec.template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      MINIO_ENDPOINT: "http://hot.wss-render.svc.cluster.local:9000",
      MINIO_PUBLIC_ENDPOINT: "https://files.example.com",
      UPLOADS_BUCKET: "user-uploads",
      ARTIFACTS_BUCKET: "workflow-artifacts",
      MINIO_REGION: "us-east-1",
      MAX_CONCURRENT_UPLOADS: "16",
      METRICS_PORT: "9464",
    });
    expect(deployment.spec.template.metadata.annotations["checksum/bundle"]).toMatch(/^[0-9a-f]{64}$/);
    // Metrics on their own port, scraped from the pods; the Service clients use carries the API's port only.
    expect(deployment.spec.template.spec.containers[0].ports).toContainEqual({ name: "metrics", containerPort: 9464 });
    expect(deployment.spec.template.metadata.annotations["prometheus.io/port"]).toBe("9464");
    expect(find("Service", "upload-api").spec.ports).toEqual([
      expect.objectContaining({ name: "http", port: 80, targetPort: 8080 }),
    ]);
    // Named by Pulumi (a suffix), so a new bundle replaces it create-before-delete.
    const bundle = manifests.find(
      (m) => m.kind === "ConfigMap" && /^upload-api-bundle-[a-z0-9]{8}$/.test(m.metadata.name),
    );
    expect(bundle?.binaryData["server.js.gz"].length).toBeLessThan(1024 * 1024);
    const volumes = find("Deployment", "upload-api").spec.template.spec.volumes;
    expect(volumes).toContainEqual({ name: "bundle", configMap: { name: bundle?.metadata.name } });
  });

  it("uses only fields the oldest Kubernetes the README promises (1.30) declares, preStop.sleep among them", () => {
    const { KUBERNETES_OLDEST_VERSION, KUBERNETES_OLDEST_OPENAPI_DIR } = toolchain();
    expect(KUBERNETES_OLDEST_VERSION).toMatch(/^1\.30\./);
    const api = loadApiSchema(KUBERNETES_OLDEST_OPENAPI_DIR);
    const unknown = manifests.flatMap((m) => api.unknownFields(m).map((f) => `${m.metadata.name}: ${f}`));
    expect(unknown).toEqual([]);
    const deployment = find("Deployment", "upload-api");
    expect(deployment.spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds).toBeGreaterThan(0);
    // The check has teeth: a field 1.30 does not know is named, with its path.
    const changed = structuredClone(deployment);
    changed.spec.template.spec.containers[0].lifecycle.preStop.sleep.until = "later";
    expect(api.unknownFields(changed)).toEqual([
      "Deployment.spec.template.spec.containers[0].lifecycle.preStop.sleep.until",
    ]);
  });

  it("a second preview shows no changes", async () => {
    const preview = await eph.stack.preview();
    expect(Object.keys(preview.changeSummary)).toEqual(["same"]);
  });
});

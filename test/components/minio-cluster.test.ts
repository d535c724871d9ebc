import { beforeAll, describe, expect, it } from "vitest";
import { MinioCluster, minioServerArgs } from "../../components/minio-cluster";
import { largestUploadRequestBytes } from "../../rules/api-settings";
import { type IngressPath, proxyTimeoutSeconds } from "../../rules/ingress";
import {
  find,
  installMocks,
  isSecret,
  parentRecorder,
  plain,
  type Registered,
  resolvedValue,
  settle,
} from "../helpers/mocks";

// The mocks must be in place before the first resource is constructed (not before the import:
// components read nothing at import time).
const registered: Registered[] = installMocks();

const statefulSet = (name: string) => find(registered, "kubernetes:apps/v1:StatefulSet", `${name}-sts`).inputs;

describe("minioServerArgs", () => {
  it("standalone: the pod's own drives", () => {
    const base = { replicas: 1, statefulSet: "hot", headlessService: "hot-hl", namespace: "storage" };
    expect(minioServerArgs({ ...base, mode: "standalone", drivesPerPod: 1 })[1]).toBe("/data/0");
    expect(minioServerArgs({ ...base, mode: "standalone", drivesPerPod: 2 })[1]).toBe("/data/{0...1}");
  });

  it("distributed: MinIO's expansion over every pod of the headless service", () => {
    expect(
      minioServerArgs({
        mode: "distributed",
        replicas: 4,
        drivesPerPod: 2,
        statefulSet: "hot",
        headlessService: "hot-hl",
        namespace: "storage",
      }),
    ).toEqual([
      "server",
      "http://hot-{0...3}.hot-hl.storage.svc.cluster.local:9000/data/{0...1}",
      "--address",
      ":9000",
      "--certs-dir",
      "/tmp/certs",
    ]);
  });
});

describe("MinioCluster, distributed", () => {
  const recorder = parentRecorder("hot");
  let cluster: MinioCluster;

  beforeAll(async () => {
    cluster = new MinioCluster(
      "hot",
      {
        namespace: "storage",
        image: "registry.example/minio:pinned",
        mode: "distributed",
        replicas: 4,
        drivesPerPod: 2,
        storageSize: "20Gi",
        storageClass: "fast",
        clients: { podSelectors: [{ app: "upload-api" }], cidrs: ["10.0.0.0/8"] },
        corsOrigins: ["https://studio.example.com", "http://127.0.0.1:18080"],
      },
      { transformations: [recorder.transformation] },
    );
    await settle(registered);
  });

  it("runs a parallel StatefulSet with one PVC per drive", async () => {
    const sts = statefulSet("hot");
    expect(sts.spec.replicas).toBe(4);
    expect(sts.spec.podManagementPolicy).toBe("Parallel");
    expect(sts.spec.volumeClaimTemplates.map((t: { metadata: { name: string } }) => t.metadata.name)).toEqual([
      "data-0",
      "data-1",
    ]);
    expect(sts.spec.volumeClaimTemplates[0].spec).toMatchObject({
      storageClassName: "fast",
      resources: { requests: { storage: "20Gi" } },
    });
    expect(sts.spec.template.spec.containers[0].args[1]).toBe(
      "http://hot-{0...3}.hot-hl.storage.svc.cluster.local:9000/data/{0...1}",
    );
  });

  it("hardens the pod: non-root, no privilege escalation, no capabilities, seccomp, read-only root", () => {
    const pod = statefulSet("hot").spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it("answers CORS for the stack's origins only (presigned parts from browsers)", () => {
    const env = statefulSet("hot").spec.template.spec.containers[0].env as { name: string; value?: string }[];
    expect(env.find((e) => e.name === "MINIO_API_CORS_ALLOW_ORIGIN")?.value).toBe(
      "https://studio.example.com,http://127.0.0.1:18080",
    );
  });

  it("probes MinIO's live and ready endpoints", () => {
    const container = statefulSet("hot").spec.template.spec.containers[0];
    expect(container.livenessProbe.httpGet.path).toBe("/minio/health/live");
    expect(container.readinessProbe.httpGet.path).toBe("/minio/health/ready");
  });

  it("takes root credentials from a Secret filled by generated secrets", async () => {
    const secretPaths: string[] = [];
    const secret = plain(find(registered, "kubernetes:core/v1:Secret", "hot-root").inputs, "", secretPaths) as {
      stringData: Record<string, string>;
    };
    expect(secretPaths).toEqual(["stringData"]);
    expect(secret.stringData).toEqual({
      MINIO_ROOT_USER: "mock-hot-root-user",
      MINIO_ROOT_PASSWORD: "mock-hot-root-password",
    });
    const env = statefulSet("hot").spec.template.spec.containers[0].env;
    expect(env[1]).toEqual({
      name: "MINIO_ROOT_PASSWORD",
      valueFrom: { secretKeyRef: { name: "hot-root", key: "MINIO_ROOT_PASSWORD" } },
    });
    expect(await isSecret(cluster.rootPassword)).toBe(true);
  });

  it("has a PodDisruptionBudget and a NetworkPolicy admitting peers, the API and management CIDRs", () => {
    expect(find(registered, "kubernetes:policy/v1:PodDisruptionBudget", "hot-pdb").inputs.spec.maxUnavailable).toBe(1);
    const policy = find(registered, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "hot-netpol").inputs;
    expect(policy.spec.ingress[0].from).toEqual([
      { podSelector: { matchLabels: { "app.kubernetes.io/name": "minio", "app.kubernetes.io/instance": "hot" } } },
      { podSelector: { matchLabels: { app: "upload-api" } } },
      { ipBlock: { cidr: "10.0.0.0/8" } },
    ]);
  });

  it("exports the in-cluster endpoint, and readiness that follows the StatefulSet", async () => {
    expect(await resolvedValue(cluster.endpoint)).toBe("http://hot.storage.svc.cluster.local:9000");
    expect(await resolvedValue(cluster.ready)).toBe("hot");
    const dependencies = await (
      cluster.ready as unknown as { allResources(): Promise<Set<{ __name?: string }>> }
    ).allResources();
    expect([...dependencies].map((r) => r.__name)).toEqual(["hot-sts"]);
  });

  it("parents every child to the component", () => {
    expect(recorder.parents.size).toBeGreaterThanOrEqual(8);
    // Direct children name the component; the generated secrets' own children would name them.
    for (const [child, parent] of recorder.parents) expect([child, parent]).toEqual([child, "hot"]);
  });
});

describe("MinioCluster, standalone", () => {
  beforeAll(async () => {
    new MinioCluster("cold", { namespace: "storage", image: "registry.example/minio:pinned" });
    new MinioCluster("local", { namespace: "storage", image: "registry.example/minio:pinned", nodePort: 30900 });
    await settle(registered);
  });

  it("keeps its S3 Service inside the cluster, unless a NodePort is asked for", () => {
    const service = (name: string) => plain(find(registered, "kubernetes:core/v1:Service", name).inputs);
    expect(service("cold-svc")).toMatchObject({ spec: { type: "ClusterIP", ports: [{ name: "s3", port: 9000 }] } });
    expect(service("local-svc")).toMatchObject({
      spec: { type: "NodePort", ports: [{ name: "s3", port: 9000, targetPort: 9000, nodePort: 30900 }] },
    });
  });

  it("runs one pod with no PodDisruptionBudget", () => {
    expect(statefulSet("cold").spec.replicas).toBe(1);
    expect(registered.some((r) => r.name === "cold-pdb")).toBe(false);
  });

  it("refuses a distributed cluster with fewer than four drives", () => {
    expect(
      () => new MinioCluster("tiny", { namespace: "storage", image: "x", mode: "distributed", replicas: 3 }),
    ).toThrowError("MinioCluster tiny: erasure coding needs at least 4 drives, got 3 pods x 1 drives");
  });
});

describe("MinioCluster, how Prometheus finds its metrics", () => {
  beforeAll(async () => {
    new MinioCluster("scraped", { namespace: "storage", image: "x:1", metrics: "annotations" });
    new MinioCluster("monitored", { namespace: "storage", image: "x:1", metrics: "serviceMonitor" });
    new MinioCluster("unwatched", { namespace: "storage", image: "x:1", metrics: "none" });
    await settle(registered);
  });

  const podAnnotations = (name: string) =>
    (plain(statefulSet(name)) as { spec: { template: { metadata: { annotations?: Record<string, string> } } } }).spec
      .template.metadata.annotations ?? {};
  const monitors = (name: string) =>
    registered.filter(
      (r) => r.type === "kubernetes:monitoring.coreos.com/v1:ServiceMonitor" && r.name.startsWith(name),
    );

  it("annotations: scrape annotations on the pods, no ServiceMonitor", () => {
    expect(podAnnotations("scraped")).toMatchObject({ "prometheus.io/scrape": "true" });
    expect(monitors("scraped")).toEqual([]);
  });

  it("serviceMonitor: a ServiceMonitor on the s3 port's cluster metrics, selecting the cluster's Service", () => {
    const [monitor] = monitors("monitored");
    expect(monitor).toBeDefined();
    const spec = (plain(monitor?.inputs) as { spec: { selector: unknown; endpoints: unknown } }).spec;
    expect(spec.endpoints).toEqual([{ port: "s3", path: "/minio/v2/metrics/cluster" }]);
    expect(spec.selector).toEqual({
      matchLabels: expect.objectContaining({ "app.kubernetes.io/instance": "monitored" }),
    });
    expect(podAnnotations("monitored")["prometheus.io/scrape"]).toBeUndefined();
  });

  it("none: neither", () => {
    expect(podAnnotations("unwatched")["prometheus.io/scrape"]).toBeUndefined();
    expect(monitors("unwatched")).toEqual([]);
  });
});

describe("MinioCluster, published for presigned links", () => {
  const prometheus = {
    namespaceLabels: { "kubernetes.io/metadata.name": "monitoring" },
    podLabels: { "app.kubernetes.io/name": "prometheus" },
  };
  const controller = {
    namespaceLabels: { "kubernetes.io/metadata.name": "ingress-nginx" },
    podLabels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
  };
  const maxUploadBytes = 100 * 1024 * 1024;

  beforeAll(async () => {
    new MinioCluster("public", {
      namespace: "storage",
      image: "x:1",
      clients: {
        podSelectors: [{ app: "upload-api" }],
        namespacedPods: [prometheus, controller],
        cidrs: ["10.20.0.0/16"],
      },
      publicIngress: {
        host: "files.example.com",
        tlsSecretName: "files-tls",
        buckets: ["user-uploads", "workflow-artifacts"],
        maxUploadBytes,
      },
    });
    await settle(registered);
  });

  type Ingress = {
    metadata: { name: string; annotations: Record<string, string> };
    spec: {
      ingressClassName: string;
      tls: unknown;
      rules: { host: string; http: { paths: (IngressPath & { backend: unknown })[] } }[];
    };
  };
  const ingress = () =>
    plain(find(registered, "kubernetes:networking.k8s.io/v1:Ingress", "public-ingress").inputs) as Ingress;
  /** Whether the Ingress sends `url` to MinIO (Kubernetes' Prefix matching, the only type it uses). */
  const routed = (url: string) =>
    (ingress().spec.rules[0]?.http.paths ?? []).some(
      (p) => p.pathType === "Prefix" && (url === p.path || url.startsWith(`${p.path}/`)),
    );

  it("sends the buckets' paths, and only those, to the S3 port of the cluster's Service, with TLS", () => {
    const spec = ingress().spec;
    expect(spec.ingressClassName).toBe("nginx");
    expect(spec.tls).toEqual([{ hosts: ["files.example.com"], secretName: "files-tls" }]);
    expect(spec.rules).toEqual([
      {
        host: "files.example.com",
        http: {
          paths: ["/user-uploads", "/workflow-artifacts"].map((path) => ({
            path,
            pathType: "Prefix",
            backend: { service: { name: "public", port: { number: 9000 } } },
          })),
        },
      },
    ]);
  });

  it("never routes MinIO's admin API, metrics or health (/minio/...), the bucket list or another bucket", () => {
    for (const url of [
      "/user-uploads", // a presigned POST (form upload)
      "/user-uploads/uploads/2026/01/01/id/report.pdf",
      "/workflow-artifacts/executions/run-42/result.json",
    ]) {
      expect([url, routed(url)]).toEqual([url, true]);
    }
    for (const url of [
      "/minio/admin/v3/info",
      "/minio/v2/metrics/cluster",
      "/minio/health/live",
      "/minio",
      "/",
      "/other-bucket/key",
      "/user-uploads-other/key",
    ]) {
      expect([url, routed(url)]).toEqual([url, false]);
    }
  });

  it("streams presigned uploads of the largest size through ingress-nginx", () => {
    const limit = largestUploadRequestBytes(maxUploadBytes);
    expect(ingress().metadata.annotations).toEqual({
      "nginx.ingress.kubernetes.io/proxy-body-size": String(limit),
      "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
      "nginx.ingress.kubernetes.io/proxy-buffering": "off",
      "nginx.ingress.kubernetes.io/proxy-read-timeout": String(proxyTimeoutSeconds(limit)),
      "nginx.ingress.kubernetes.io/proxy-send-timeout": String(proxyTimeoutSeconds(limit)),
    });
    expect(limit).toBeGreaterThan(maxUploadBytes);
  });

  it("admits pods of other namespaces by namespace and pod labels together, and the given CIDRs unchanged", () => {
    const policy = find(registered, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "public-netpol").inputs;
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].ports).toEqual([{ protocol: "TCP", port: 9000 }]);
    expect(policy.spec.ingress[0].from).toEqual([
      { podSelector: { matchLabels: { "app.kubernetes.io/name": "minio", "app.kubernetes.io/instance": "public" } } },
      { podSelector: { matchLabels: { app: "upload-api" } } },
      {
        namespaceSelector: { matchLabels: prometheus.namespaceLabels },
        podSelector: { matchLabels: prometheus.podLabels },
      },
      {
        namespaceSelector: { matchLabels: controller.namespaceLabels },
        podSelector: { matchLabels: controller.podLabels },
      },
      { ipBlock: { cidr: "10.20.0.0/16" } },
    ]);
  });

  it("refuses to publish a bucket named minio: its path would be MinIO's own endpoints", () => {
    expect(
      () =>
        new MinioCluster("leaky", {
          namespace: "storage",
          image: "x:1",
          publicIngress: { host: "files.example.com", buckets: ["user-uploads", "minio"], maxUploadBytes },
        }),
    ).toThrowError('MinioCluster leaky: "minio" is not a bucket name to publish');
  });
});

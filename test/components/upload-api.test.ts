import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../api/app";
import { loadConfig } from "../../api/config";
import { RESULT_MAX_BYTES } from "../../api/routes/executions";
import { apiBundleFrom } from "../../components/api-bundle";
import {
  apiSettingsEnvironment,
  UNPACK_BUNDLE_SCRIPT,
  UploadApi,
  type UploadApiArgs,
  uploadApiPodSelector,
} from "../../components/upload-api";
import { singleKeyWithAllScopes } from "../../rules/api-keys";
import {
  DEFAULT_MAX_FILES_PER_REQUEST,
  DEFAULT_METRICS_PORT,
  largestApiRequestBytes,
  PRE_STOP_PAUSE_SECONDS,
  READINESS_DEADLINE_MS,
  SHUTDOWN_GRACE_MS,
} from "../../rules/api-settings";
import { CONFIGMAP_LIMIT_BYTES } from "../../rules/configmap";
import { type IngressPath, PUBLIC_API_PATHS, proxyTimeoutSeconds } from "../../rules/ingress";
import { find, installMocks, parentRecorder, plain, type Registered, resolvedValue, settle } from "../helpers/mocks";

const registered: Registered[] = installMocks();

const bundleV1 = apiBundleFrom(Buffer.from("console.log('api v1');\n".repeat(100)));
const bundleV2 = apiBundleFrom(Buffer.from("console.log('api v2');\n".repeat(100)));
const args = (bundle = bundleV1, replicas = 2): UploadApiArgs => ({
  namespace: "storage",
  storage: {
    minioEndpoint: "http://hot.storage.svc.cluster.local:9000",
    minioPublicEndpoint: "https://files.example.com",
    uploadsBucket: "user-uploads",
    artifactsBucket: "workflow-artifacts",
    presignDefaultSeconds: 900,
    presignMaxSeconds: 3600,
    maxUploadBytes: 1048576,
    minioRegion: "eu-west-1",
    maxConcurrentUploads: 32,
    corsOrigins: ["https://studio.example.com"],
  },
  credentials: { accessKey: "api-user", secretKey: pulumi.secret("api-secret") },
  apiKeys: pulumi.secret(singleKeyWithAllScopes("studio", "key-one-0123456789")),
  bundle,
  replicas,
});

type Deployment = {
  spec: {
    replicas: number;
    template: {
      metadata: { annotations: Record<string, string> };
      spec: {
        containers: {
          env: { name: string; value?: string; valueFrom?: unknown }[];
          ports: { name: string; containerPort: number }[];
          securityContext: unknown;
          lifecycle: unknown;
        }[];
        initContainers: unknown[];
      };
    };
  };
};
const deployment = (name: string) =>
  plain(find(registered, "kubernetes:apps/v1:Deployment", `${name}-deployment`).inputs) as Deployment;

const prometheus = {
  namespaceLabels: { "kubernetes.io/metadata.name": "monitoring" },
  podLabels: { "app.kubernetes.io/name": "prometheus" },
};

type Ingress = {
  metadata: { name: string; annotations: Record<string, string> };
  spec: {
    ingressClassName: string;
    tls?: { hosts: string[]; secretName: string }[];
    rules: {
      host: string;
      http: { paths: (IngressPath & { backend: { service: { name: string; port: { number: number } } } })[] };
    }[];
  };
};
const ingress = (name: string) =>
  plain(find(registered, "kubernetes:networking.k8s.io/v1:Ingress", `${name}-ingress`).inputs) as Ingress;

type NetworkPolicy = {
  spec: { podSelector: unknown; policyTypes: string[]; ingress: { from?: unknown[]; ports: unknown[] }[] };
};
const networkPolicy = (name: string) =>
  plain(find(registered, "kubernetes:networking.k8s.io/v1:NetworkPolicy", `${name}-netpol`).inputs) as NetworkPolicy;

/** Whether an Ingress with `paths` sends `url` to its backend (Kubernetes' Prefix and Exact matching). */
function routed(paths: readonly IngressPath[], url: string): boolean {
  return paths.some((p) => (p.pathType === "Exact" ? url === p.path : url === p.path || url.startsWith(`${p.path}/`)));
}

describe("UploadApi", () => {
  const recorder = parentRecorder("api");
  let api: UploadApi;

  beforeAll(async () => {
    api = new UploadApi("api", args(), { transformations: [recorder.transformation] });
    new UploadApi("api-next", args(bundleV2));
    new UploadApi("api-single", args(bundleV1, 1));
    new UploadApi("api-public", {
      ...args(),
      ingress: { host: "storage-api.example.com", className: "public-nginx", tlsSecretName: "storage-api-tls" },
      metricsScrapers: [prometheus],
    });
    new UploadApi("api-plain", { ...args(), ingress: { host: "storage-api.example.com" } });
    new UploadApi("api-rotated-secret", {
      ...args(),
      credentials: { accessKey: "api-user", secretKey: pulumi.secret("api-secret-2") },
    });
    new UploadApi("api-rotated-key", {
      ...args(),
      apiKeys: pulumi.secret(singleKeyWithAllScopes("studio", "key-two-0123456789")),
    });
    new UploadApi("api-node-port", { ...args(), nodePort: 30980 });
    new UploadApi("api-image", { ...args(), bundle: undefined, image: "workflow-studio/storage-api:1.4.0" });
    new UploadApi("api-other-limit", { ...args(), storage: { ...args().storage, maxUploadBytes: 2097152 } });
    new UploadApi("api-public-bigger", {
      ...args(),
      storage: { ...args().storage, maxUploadBytes: 2097152 },
      ingress: { host: "storage-api.example.com", tlsSecretName: "storage-api-tls" },
    });
    await settle(registered);
  });

  it("wires the environment from the stack's outputs and the credentials from a Secret", () => {
    const env = deployment("api").spec.template.spec.containers[0]?.env ?? [];
    const byName = Object.fromEntries(env.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(byName).toMatchObject({
      MINIO_ENDPOINT: "http://hot.storage.svc.cluster.local:9000",
      MINIO_PUBLIC_ENDPOINT: "https://files.example.com",
      UPLOADS_BUCKET: "user-uploads",
      ARTIFACTS_BUCKET: "workflow-artifacts",
      PRESIGN_DEFAULT_SECONDS: "900",
      PRESIGN_MAX_SECONDS: "3600",
      MAX_UPLOAD_BYTES: "1048576",
      MINIO_REGION: "eu-west-1",
      MAX_CONCURRENT_UPLOADS: "32",
      CORS_ALLOWED_ORIGINS: "https://studio.example.com",
      PORT: "8080",
      METRICS_PORT: String(DEFAULT_METRICS_PORT),
      MINIO_SECRET_KEY: { secretKeyRef: { name: "api-credentials-generated", key: "MINIO_SECRET_KEY" } },
      API_KEYS: { secretKeyRef: { name: "api-credentials-generated", key: "API_KEYS" } },
    });
    const secretPaths: string[] = [];
    plain(find(registered, "kubernetes:core/v1:Secret", "api-credentials").inputs, "", secretPaths);
    expect(secretPaths).toEqual(["stringData"]);
  });

  it("serves metrics on their own port: in the pod and its scrape annotations, not in the Service or the Ingress", () => {
    const pod = deployment("api").spec.template;
    const ports = pod.spec.containers[0]?.ports ?? [];
    expect(ports).toEqual([
      { name: "http", containerPort: 8080 },
      { name: "metrics", containerPort: DEFAULT_METRICS_PORT },
    ]);
    expect(pod.metadata.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(DEFAULT_METRICS_PORT),
      "prometheus.io/path": "/metrics",
    });
    const service = plain(find(registered, "kubernetes:core/v1:Service", "api-svc").inputs) as {
      spec: { ports: { name: string; port: number; targetPort: number | string }[] };
    };
    expect(service.spec.ports).toEqual([{ name: "http", port: 80, targetPort: 8080 }]);
    expect(plain(find(registered, "kubernetes:core/v1:Service", "api-node-port-svc").inputs)).toMatchObject({
      spec: { type: "NodePort", ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: 30980 }] },
    });
    for (const p of service.spec.ports) {
      expect([p.port, p.targetPort]).not.toContain(DEFAULT_METRICS_PORT);
      expect(p.targetPort).not.toBe("metrics");
    }
    const backends = JSON.stringify(ingress("api-public").spec.rules);
    expect(backends).toContain('"port":{"number":80}');
    expect(backends).not.toContain(String(DEFAULT_METRICS_PORT));
    expect(backends).not.toContain("metrics");
  });

  it("publishes with TLS from the named Secret under the given class; without a Secret, plain HTTP", () => {
    const published = ingress("api-public");
    expect(published.spec.ingressClassName).toBe("public-nginx");
    expect(published.spec.tls).toEqual([{ hosts: ["storage-api.example.com"], secretName: "storage-api-tls" }]);
    expect(published.spec.rules.map((r) => r.host)).toEqual(["storage-api.example.com"]);
    const plainHttp = ingress("api-plain");
    expect(plainHttp.spec.ingressClassName).toBe("nginx");
    expect(plainHttp.spec.tls).toBeUndefined();
  });

  it("routes the API's public paths to its Service, and nothing else: no probes, no metrics", () => {
    const paths = ingress("api-public").spec.rules[0]?.http.paths ?? [];
    expect(paths.map(({ path, pathType }) => ({ path, pathType }))).toEqual(PUBLIC_API_PATHS);
    for (const p of paths) expect(p.backend.service).toEqual({ name: "api-public", port: { number: 80 } });
    for (const url of ["/healthz", "/readyz", "/metrics", "/", "/upload-page", "/v1x", "/openapi.json/x"]) {
      expect([url, routed(PUBLIC_API_PATHS, url)]).toEqual([url, false]);
    }
  });

  it("routes exactly the routes the deployed API serves with a key: every one, and no probe (its real route table)", async () => {
    // The API as the Deployment configures it (its settings, plus credentials), built but not started.
    const env = {
      ...(apiSettingsEnvironment(args().storage) as Record<string, string>),
      MINIO_ACCESS_KEY: "api-user",
      MINIO_SECRET_KEY: "api-secret-0123456789",
      API_KEYS: singleKeyWithAllScopes("studio", "key-one-0123456789"),
    };
    const app = await buildApp({ config: loadConfig(env), logger: false });
    try {
      await app.ready();
      const documented = Object.keys((app.swagger() as { paths: Record<string, unknown> }).paths);
      const probes = ["/healthz", "/readyz"];
      expect(documented).toEqual(expect.arrayContaining([...probes, "/upload", "/openapi.json", "/v1/uploads"]));
      for (const path of documented) {
        expect([path, routed(PUBLIC_API_PATHS, path)]).toEqual([path, !probes.includes(path)]);
      }
      // Not in the document: the upload page is off here, and /metrics lives on the other port.
      expect(app.hasRoute({ method: "GET", url: "/upload-page" })).toBe(false);
      expect(app.hasRoute({ method: "GET", url: "/metrics" })).toBe(false);
    } finally {
      await app.close();
    }
  });

  it("streams through ingress-nginx: the body limit of the largest request the API accepts, no buffering, long timeouts", () => {
    const { storage } = args();
    const annotations = ingress("api-public").metadata.annotations;
    const limit = largestApiRequestBytes(storage.maxUploadBytes, DEFAULT_MAX_FILES_PER_REQUEST);
    expect(annotations).toEqual({
      "nginx.ingress.kubernetes.io/proxy-body-size": String(limit),
      "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
      "nginx.ingress.kubernetes.io/proxy-buffering": "off",
      "nginx.ingress.kubernetes.io/proxy-read-timeout": String(proxyTimeoutSeconds(limit)),
      "nginx.ingress.kubernetes.io/proxy-send-timeout": String(proxyTimeoutSeconds(limit)),
    });
    // One owner: the API is told the same file count the limit is computed from...
    const env = apiSettingsEnvironment(storage);
    expect(env.MAX_FILES_PER_REQUEST).toBe(String(DEFAULT_MAX_FILES_PER_REQUEST));
    // ...and the largest save it accepts (every file at the limit, the result JSON at its own) fits.
    const accepted = DEFAULT_MAX_FILES_PER_REQUEST * storage.maxUploadBytes + RESULT_MAX_BYTES;
    expect(limit).toBeGreaterThan(accepted);
    // A larger max upload size moves the limit with it.
    const other = ingress("api-public-bigger").metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"];
    expect(other).toBe(String(largestApiRequestBytes(2 * storage.maxUploadBytes, DEFAULT_MAX_FILES_PER_REQUEST)));
  });

  it("admits anyone to the API's port and only the scrapers to the metrics port (both selectors in one peer)", () => {
    expect(networkPolicy("api-public").spec).toEqual({
      podSelector: {
        matchLabels: { "app.kubernetes.io/name": "upload-api", "app.kubernetes.io/instance": "api-public" },
      },
      policyTypes: ["Ingress"],
      ingress: [
        { ports: [{ protocol: "TCP", port: 8080 }] },
        {
          from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
              podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
            },
          ],
          ports: [{ protocol: "TCP", port: DEFAULT_METRICS_PORT }],
        },
      ],
    });
    // No scrapers given: the metrics port admits no one.
    expect(networkPolicy("api").spec.ingress).toEqual([{ ports: [{ protocol: "TCP", port: 8080 }] }]);
  });

  it("gives a local API process its metrics port beside the API's, and never the same one", () => {
    const storage = args().storage;
    expect(apiSettingsEnvironment(storage, 18080, 18081)).toMatchObject({ PORT: "18080", METRICS_PORT: "18081" });
    expect(() => apiSettingsEnvironment(storage, 18080, 18080)).toThrowError(/metrics port must differ/);
  });

  it("ships the bundle gzipped in a ConfigMap and unpacks it before the API starts", () => {
    const map = find(registered, "kubernetes:core/v1:ConfigMap", "api-bundle").inputs;
    const unpacked = gunzipSync(Buffer.from(map.binaryData["server.js.gz"], "base64")).toString();
    expect(unpacked).toContain("api v1");
    expect(deployment("api").spec.template.spec.initContainers).toHaveLength(1);
  });

  it("unpacks with node alone (no shell, no gunzip in the image): the init command, run for real", () => {
    const init = deployment("api").spec.template.spec.initContainers[0] as { command: string[] };
    expect(init.command.slice(0, 3)).toEqual(["node", "-e", UNPACK_BUNDLE_SCRIPT]);
    const dir = mkdtempSync(join(tmpdir(), "unpack-"));
    try {
      const map = find(registered, "kubernetes:core/v1:ConfigMap", "api-bundle").inputs;
      writeFileSync(join(dir, "server.js.gz"), Buffer.from(map.binaryData["server.js.gz"], "base64"));
      execFileSync(process.execPath, ["-e", UNPACK_BUNDLE_SCRIPT, join(dir, "server.js.gz"), join(dir, "server.js")]);
      expect(readFileSync(join(dir, "server.js"), "utf8")).toContain("api v1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rolls the pods when the bundle changes, and only the bundle checksum differs", () => {
    const v1 = deployment("api").spec.template.metadata.annotations;
    const v2 = deployment("api-next").spec.template.metadata.annotations;
    expect(v1["checksum/bundle"]).toBe(bundleV1.sha256);
    expect(v2["checksum/bundle"]).toBe(bundleV2.sha256);
    expect(v1["checksum/settings"]).toBe(v2["checksum/settings"]);
    expect(v1["checksum/credentials"]).toMatch(/^[0-9a-f]{64}$/);
    expect(v1["checksum/credentials"]).toBe(v2["checksum/credentials"]);
  });

  it("rolls the pods when a credential or a setting changes: exactly the matching checksum differs", () => {
    const base = deployment("api").spec.template.metadata.annotations;
    for (const [name, changed] of [
      ["api-rotated-secret", "checksum/credentials"],
      ["api-rotated-key", "checksum/credentials"],
      ["api-other-limit", "checksum/settings"],
    ] as const) {
      const other = deployment(name).spec.template.metadata.annotations;
      const differing = Object.keys(base).filter((k) => base[k] !== other[k]);
      expect(differing, name).toEqual([changed]);
    }
  });

  it("drains: a preStop pause before SIGTERM, and a grace period longer than the API's own drain", () => {
    const pod = deployment("api").spec.template.spec as unknown as {
      terminationGracePeriodSeconds: number;
      containers: { lifecycle: unknown; readinessProbe: { timeoutSeconds: number } }[];
    };
    expect(pod.containers[0]?.lifecycle).toEqual({ preStop: { sleep: { seconds: PRE_STOP_PAUSE_SECONDS } } });
    // The pause plus the API's drain fit in the grace period: the exit is the API's, not a SIGKILL.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(PRE_STOP_PAUSE_SECONDS + SHUTDOWN_GRACE_MS / 1000);
    // The API answers readiness within its deadline, below the probe's timeout.
    expect((pod.containers[0]?.readinessProbe.timeoutSeconds ?? 0) * 1000).toBeGreaterThan(READINESS_DEADLINE_MS);
  });

  it("its pods carry the selector MinIO's NetworkPolicy admits (one owner for the labels)", () => {
    const labels = (deployment("api") as unknown as { spec: { template: { metadata: { labels: object } } } }).spec
      .template.metadata.labels;
    expect(labels).toMatchObject(uploadApiPodSelector);
  });

  it("with apiImage, runs the built image as is: no bundle ConfigMap, no unpacking, no command override", () => {
    const pod = deployment("api-image").spec.template.spec as unknown as {
      initContainers: unknown[];
      containers: { image: string; command?: string[] }[];
      volumes: { name: string }[];
    };
    expect(pod.containers[0]?.image).toBe("workflow-studio/storage-api:1.4.0");
    expect(pod.containers[0]?.command).toBeUndefined();
    expect(pod.initContainers).toEqual([]);
    expect(pod.volumes.map((v) => v.name)).toEqual(["tmp"]);
    expect(registered.some((r) => r.name === "api-image-bundle")).toBe(false);
  });

  it("probes: liveness on /healthz, readiness on /readyz, both on the API's port", () => {
    const container = (
      deployment("api").spec.template.spec as unknown as {
        containers: {
          livenessProbe: unknown;
          readinessProbe: unknown;
          ports: { name: string; containerPort: number }[];
        }[];
      }
    ).containers[0];
    const http = container?.ports.find((p) => p.name === "http")?.containerPort;
    expect(container?.livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: http } });
    expect(container?.readinessProbe).toMatchObject({ httpGet: { path: "/readyz", port: http } });
  });

  it("hardens the containers and runs a PodDisruptionBudget only with more than one replica", () => {
    expect(deployment("api").spec.template.spec.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(registered.some((r) => r.name === "api-pdb")).toBe(true);
    expect(registered.some((r) => r.name === "api-single-pdb")).toBe(false);
  });

  it("exposes its in-cluster URL and parents every child", async () => {
    expect(await resolvedValue(api.url)).toBe("http://api.storage.svc.cluster.local");
    // Not vacuous: the recorder saw the component's children.
    expect(recorder.parents.size).toBeGreaterThanOrEqual(5);
    for (const [child, parent] of recorder.parents) expect([child, parent]).toEqual([child, "api"]);
  });
});

describe("API bundle", () => {
  it("refuses a bundle that would not fit in a ConfigMap, saying what to do", () => {
    expect(() => apiBundleFrom(randomBytes(CONFIGMAP_LIMIT_BYTES))).toThrowError(
      /a ConfigMap holds at most 1048576: trim the bundle or set apiImage/,
    );
  });
});

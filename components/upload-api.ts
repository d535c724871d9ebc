import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  DEFAULT_MAX_FILES_PER_REQUEST,
  DEFAULT_METRICS_PORT,
  largestApiRequestBytes,
  POD_GRACE_SECONDS,
  PRE_STOP_PAUSE_SECONDS,
  PROBE_TIMEOUT_SECONDS,
} from "../rules/api-settings";
import { PUBLIC_API_PATHS } from "../rules/ingress";
import type { NamespacedPods } from "../rules/kubernetes";
import type { ApiBundle } from "./api-bundle";
import { namespacedPeer, type PublicIngressArgs, serviceSpec, streamingIngress } from "./edge";

/** What the API is told about storage: endpoints, region, buckets, presign windows, upload limits. */
export interface UploadApiStorageSettings {
  /** Where the API sends data calls: the in-cluster endpoint. */
  minioEndpoint: pulumi.Input<string>;
  /** The host clients download from; presigned URLs are signed for it. */
  minioPublicEndpoint: pulumi.Input<string>;
  uploadsBucket: pulumi.Input<string>;
  artifactsBucket: pulumi.Input<string>;
  presignDefaultSeconds: number;
  presignMaxSeconds: number;
  maxUploadBytes: number;
  /** The region MinIO answers for; presigned links are signed for it. */
  minioRegion: string;
  /** Uploads one API process streams at once; beyond it the API sheds load (503). */
  maxConcurrentUploads: number;
  /** Browser origins allowed to call the API (CORS_ALLOWED_ORIGINS). */
  corsOrigins: string[];
}

export interface UploadApiArgs {
  namespace: pulumi.Input<string>;
  storage: UploadApiStorageSettings;
  /** The API's own least-privilege MinIO credentials (secret). */
  credentials: { accessKey: pulumi.Input<string>; secretKey: pulumi.Input<string> };
  /** The bearer keys as the API_KEYS JSON text (rules/api-keys.ts; secret). */
  apiKeys: pulumi.Input<string>;
  /** The bundle run by `nodeImage`; ignored when `image` is set. */
  bundle?: ApiBundle;
  /** Stock Node.js image that runs the bundle, pinned. Default node:22.23.3-alpine. */
  nodeImage?: string;
  /** A built API image (api/Dockerfile) to run instead of the bundle. */
  image?: string;
  /** Default 2. */
  replicas?: number;
  /** Publish the API's Service on this NodePort of every node. Default: none (ClusterIP). */
  nodePort?: number;
  /** Default: requests 100m CPU / 128Mi, limit 512Mi. */
  resources?: k8s.types.input.core.v1.ResourceRequirements;
  /**
   * An Ingress in front of the API: its public routes only (rules/ingress.ts PUBLIC_API_PATHS), the
   * body limit and timeouts of its largest request. Default: no Ingress.
   */
  ingress?: PublicIngressArgs;
  /**
   * Who may scrape `/metrics` on the metrics port (Prometheus' pods). Default none: the
   * NetworkPolicy then admits no one to that port. The API's own port stays open to the cluster.
   */
  metricsScrapers?: NamespacedPods[];
}

/**
 * The init container's job, done by node itself (`node -e SCRIPT FROM TO`): an image of just Node.js
 * and its libraries, with no shell or gunzip, runs the bundle as well as the stock images do.
 */
export const UNPACK_BUNDLE_SCRIPT =
  'const fs = require("node:fs"); const [from, to] = process.argv.slice(1); fs.writeFileSync(to, require("node:zlib").gunzipSync(fs.readFileSync(from)));';

const port = 8080;
/** The Service's port (the Ingress's backend); the pods listen on `port`. */
const servicePort = 80;
/** The API serves /metrics on its own port: in the pod, never in the Service or the Ingress. */
const metricsPort = DEFAULT_METRICS_PORT;

/**
 * The labels that select the API's pods, whatever the instance: MinIO's NetworkPolicy admits them,
 * and it is built before the API exists, so it takes them from here rather than typing them again.
 */
export const uploadApiPodSelector = { "app.kubernetes.io/name": "upload-api" } as const;

/**
 * The API's non-secret environment (its contract is api/README.md). One function, so the pods on
 * Kubernetes and a local API process started from the stack's outputs get the same settings.
 */
export function apiSettingsEnvironment(
  s: UploadApiStorageSettings,
  listenPort: number = port,
  metricsListenPort: number = metricsPort,
): Record<string, pulumi.Input<string>> {
  if (metricsListenPort === listenPort) {
    throw new Error(
      `the API's metrics port must differ from its port (${listenPort}): metrics stay off the public port`,
    );
  }
  return {
    PORT: String(listenPort),
    METRICS_PORT: String(metricsListenPort),
    MINIO_ENDPOINT: s.minioEndpoint,
    MINIO_PUBLIC_ENDPOINT: s.minioPublicEndpoint,
    MINIO_REGION: s.minioRegion,
    UPLOADS_BUCKET: s.uploadsBucket,
    ARTIFACTS_BUCKET: s.artifactsBucket,
    PRESIGN_DEFAULT_SECONDS: String(s.presignDefaultSeconds),
    PRESIGN_MAX_SECONDS: String(s.presignMaxSeconds),
    MAX_UPLOAD_BYTES: String(s.maxUploadBytes),
    MAX_FILES_PER_REQUEST: String(DEFAULT_MAX_FILES_PER_REQUEST),
    MAX_CONCURRENT_UPLOADS: String(s.maxConcurrentUploads),
    CORS_ALLOWED_ORIGINS: s.corsOrigins.join(","),
  };
}

/**
 * The upload/presign API on Kubernetes: a Deployment (the bundle from a ConfigMap run by a stock
 * Node.js image, or a built image), its Service, a PodDisruptionBudget, a NetworkPolicy and an
 * optional Ingress. Its environment comes from the stack's outputs; credentials and API keys from a
 * Secret. Pod annotations carry checksums of the bundle, the settings and the credentials, so any
 * change rolls the pods, and tell Prometheus to scrape /metrics on the metrics port, which only the
 * pod exposes: the Service (and so the Ingress) carries the API's port alone, and the NetworkPolicy
 * admits only the given scrapers to the metrics port.
 */
export class UploadApi extends pulumi.ComponentResource {
  /** In-cluster URL of the API. */
  readonly url: pulumi.Output<string>;
  /** Labels of the API's pods (MinIO's NetworkPolicy admits them). */
  readonly podLabels: Record<string, string>;

  constructor(name: string, args: UploadApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("workflow-studio-storage:service:UploadApi", name, {}, opts);
    if (!args.image && !args.bundle) {
      throw new pulumi.ResourceError(`UploadApi ${name}: give either a bundle or an image`, this);
    }
    const child = { parent: this };
    const labels = { ...uploadApiPodSelector, "app.kubernetes.io/instance": name };
    this.podLabels = labels;
    const meta = (suffix: string) => ({ name: `${name}${suffix}`, namespace: args.namespace, labels });
    const replicas = args.replicas ?? 2;

    // The Secret and the bundle's ConfigMap are named by Pulumi (a random suffix): the Kubernetes
    // provider replaces them when their data changes, and only an object without a fixed name can be
    // replaced create-before-delete. With a fixed name the old one is deleted first, and that replaces
    // the Deployment too: every API pod gone at once instead of a rolling update.
    const generatedName = { namespace: args.namespace, labels };
    const credentials = new k8s.core.v1.Secret(
      `${name}-credentials`,
      {
        metadata: generatedName,
        type: "Opaque",
        stringData: {
          MINIO_ACCESS_KEY: args.credentials.accessKey,
          MINIO_SECRET_KEY: args.credentials.secretKey,
          API_KEYS: args.apiKeys,
        },
      },
      child,
    );
    const bundle = args.image ? undefined : args.bundle;
    const bundleMap = bundle
      ? new k8s.core.v1.ConfigMap(
          `${name}-bundle`,
          { metadata: generatedName, binaryData: { "server.js.gz": bundle.gzipBase64 } },
          child,
        )
      : undefined;
    const settings = apiSettingsEnvironment(args.storage);

    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: meta(""),
        spec: {
          replicas,
          selector: { matchLabels: labels },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: { labels, annotations: podAnnotations(args, settings, bundle) },
            spec: apiPodSpec({
              args,
              settings,
              secretName: credentials.metadata.name,
              bundleMapName: bundleMap?.metadata.name,
            }),
          },
        },
      },
      child,
    );

    // Clients' Service: the API's port only. The metrics port stays in the pod (scraped directly).
    const service = new k8s.core.v1.Service(
      `${name}-svc`,
      {
        metadata: meta(""),
        spec: serviceSpec(labels, { name: "http", port: servicePort, targetPort: port }, args.nodePort),
      },
      child,
    );
    if (replicas > 1) {
      new k8s.policy.v1.PodDisruptionBudget(
        `${name}-pdb`,
        { metadata: meta(""), spec: { minAvailable: 1, selector: { matchLabels: labels } } },
        child,
      );
    }
    new k8s.networking.v1.NetworkPolicy(
      `${name}-netpol`,
      { metadata: meta(""), spec: apiNetworkPolicySpec(labels, args.metricsScrapers ?? []) },
      child,
    );
    if (args.ingress) {
      streamingIngress(
        `${name}-ingress`,
        {
          metadata: meta(""),
          ingress: args.ingress,
          paths: PUBLIC_API_PATHS,
          service: { name: service.metadata.name, port: servicePort },
          // The largest request is an artifacts save with every file at the limit, not one upload.
          largestRequestBytes: largestApiRequestBytes(args.storage.maxUploadBytes, DEFAULT_MAX_FILES_PER_REQUEST),
        },
        child,
      );
    }

    this.url = pulumi.interpolate`http://${service.metadata.name}.${args.namespace}.svc.cluster.local`;
    this.registerOutputs({ url: this.url });
  }
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The pod's annotations: checksums of the bundle, the settings and the credentials (a change to any
 * of them rolls the pods; a hash reveals nothing of the credentials) and where Prometheus scrapes.
 */
function podAnnotations(
  args: UploadApiArgs,
  settings: Record<string, pulumi.Input<string>>,
  bundle: ApiBundle | undefined,
): Record<string, pulumi.Input<string>> {
  return {
    "checksum/bundle": bundle?.sha256 ?? "image",
    "checksum/settings": pulumi.output(settings).apply((values) => sha256(JSON.stringify(values))),
    "checksum/credentials": pulumi.unsecret(
      pulumi
        .all([args.credentials.accessKey, args.credentials.secretKey, args.apiKeys])
        .apply((values) => sha256(values.join("\n"))),
    ),
    // Prometheus scrapes the pods directly, on the port the Service leaves out.
    "prometheus.io/scrape": "true",
    "prometheus.io/port": String(metricsPort),
    "prometheus.io/path": "/metrics",
  };
}

const securityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

const probe = (path: string) => ({
  httpGet: { path, port },
  periodSeconds: 10,
  timeoutSeconds: PROBE_TIMEOUT_SECONDS,
});

/**
 * The API's pod: hardened, non-root, read-only; with a bundle, an init container unpacks it from the
 * ConfigMap into /app and the stock Node.js image runs it; with an image, the image runs as is.
 */
function apiPodSpec(p: {
  args: UploadApiArgs;
  settings: Record<string, pulumi.Input<string>>;
  secretName: pulumi.Input<string>;
  bundleMapName: pulumi.Input<string> | undefined;
}) {
  const { args, settings, bundleMapName } = p;
  const nodeImage = args.nodeImage ?? "node:22.23.3-alpine";
  const fromSecret = (key: string) => ({ name: key, valueFrom: { secretKeyRef: { name: p.secretName, key } } });
  return {
    automountServiceAccountToken: false,
    // Graceful shutdown drains in-flight uploads; give it time before SIGKILL.
    terminationGracePeriodSeconds: POD_GRACE_SECONDS,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    },
    initContainers: bundleMapName
      ? [
          {
            // The ConfigMap holds the bundle gzipped: unpack it into the pod's /app.
            name: "unpack-bundle",
            image: nodeImage,
            command: ["node", "-e", UNPACK_BUNDLE_SCRIPT, "/bundle/server.js.gz", "/app/server.js"],
            securityContext,
            volumeMounts: [
              { name: "bundle", mountPath: "/bundle", readOnly: true },
              { name: "app", mountPath: "/app" },
            ],
          },
        ]
      : [],
    containers: [
      {
        name: "api",
        image: args.image ?? nodeImage,
        ...(bundleMapName ? { command: ["node", "/app/server.js"] } : {}),
        ports: [
          { name: "http", containerPort: port },
          { name: "metrics", containerPort: metricsPort },
        ],
        env: [
          ...Object.entries(settings).map(([key, value]) => ({ name: key, value })),
          fromSecret("MINIO_ACCESS_KEY"),
          fromSecret("MINIO_SECRET_KEY"),
          fromSecret("API_KEYS"),
        ],
        // Keep serving for a few seconds after SIGTERM is due: endpoints take that long to drop the
        // pod, and connections arriving meanwhile would be refused.
        lifecycle: { preStop: { sleep: { seconds: PRE_STOP_PAUSE_SECONDS } } },
        livenessProbe: probe("/healthz"),
        readinessProbe: probe("/readyz"),
        resources: args.resources ?? { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
        securityContext,
        volumeMounts: [
          { name: "tmp", mountPath: "/tmp" },
          ...(bundleMapName ? [{ name: "app", mountPath: "/app", readOnly: true }] : []),
        ],
      },
    ],
    volumes: [
      { name: "tmp", emptyDir: {} },
      ...(bundleMapName
        ? [
            { name: "app", emptyDir: {} },
            { name: "bundle", configMap: { name: bundleMapName } },
          ]
        : []),
    ],
  };
}

/**
 * Who reaches the API's pods: anyone on the API's port (Workflow Studio calls it in-cluster, the
 * ingress controller from its namespace, the kubelet probes it; every route but the probes needs a
 * key), and only the scrapers on the metrics port, which answers without a key.
 */
function apiNetworkPolicySpec(labels: Record<string, string>, scrapers: NamespacedPods[]) {
  return {
    podSelector: { matchLabels: labels },
    policyTypes: ["Ingress"],
    ingress: [
      { ports: [{ protocol: "TCP", port }] },
      ...(scrapers.length > 0
        ? [{ from: scrapers.map(namespacedPeer), ports: [{ protocol: "TCP", port: metricsPort }] }]
        : []),
    ],
  };
}

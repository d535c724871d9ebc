import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { largestUploadRequestBytes } from "../rules/api-settings";
import { isValidBucketName } from "../rules/buckets";
import { publicBucketPaths } from "../rules/ingress";
import type { NamespacedPods } from "../rules/kubernetes";
import { namespacedPeer, type PublicIngressArgs, serviceSpec, streamingIngress } from "./edge";
import { GeneratedSecret } from "./providers/generated-secret";

/** Who may reach a MinIO cluster's S3 port: pods by label, and CIDRs for management. */
export interface MinioClients {
  /** Label selectors of pods (in the same namespace) that may connect, e.g. the API's pods. */
  podSelectors?: pulumi.Input<Record<string, string>>[];
  /**
   * Pods of other namespaces that may connect, each by namespace and pod labels together, e.g. the
   * ingress controller (presigned links through the public Ingress) and Prometheus (metrics).
   */
  namespacedPods?: NamespacedPods[];
  /** CIDRs allowed in from outside the namespace (where `pulumi up` and operators reach MinIO). */
  cidrs?: string[];
}

/** The public Ingress presigned links reach MinIO through. */
export interface MinioPublicIngressArgs extends PublicIngressArgs {
  /** The buckets presigned links name: their paths are routed, nothing else (rules/ingress.ts). */
  buckets: string[];
  /** The largest upload a presigned link allows; the body limit adds a multipart form's room. */
  maxUploadBytes: number;
}

export interface MinioClusterArgs {
  namespace: pulumi.Input<string>;
  /** Container image, pinned (tag or digest). See README: upstream stopped publishing images in 2025. */
  image: string;
  /** `standalone`: one pod. `distributed`: `replicas` pods x `drivesPerPod` drives, erasure coded. Default standalone. */
  mode?: "standalone" | "distributed";
  /** Pods of a distributed cluster. Default 4; ignored when standalone (always 1). */
  replicas?: number;
  /** Drives (PersistentVolumeClaims) per pod. Default 1. */
  drivesPerPod?: number;
  /** Size of each drive. Default 10Gi. */
  storageSize?: string;
  /** Storage class of the drives. Default: the cluster's default class. */
  storageClass?: string;
  /**
   * Publish the S3 port on this NodePort of every node, e.g. so that `pulumi up` and clients on the
   * host reach MinIO in a local cluster. Default: none (ClusterIP).
   */
  nodePort?: number;
  /** Default: requests 250m CPU / 512Mi memory, limit 2Gi memory. */
  resources?: k8s.types.input.core.v1.ResourceRequirements;
  clients?: MinioClients;
  /** How Prometheus finds the metrics: scrape annotations (default), a ServiceMonitor (needs its CRD), or none. */
  metrics?: "annotations" | "serviceMonitor" | "none";
  /**
   * Browser origins that may send the presigned requests (parts of resumable uploads, downloads)
   * and read the answers, ETag included. Default none given: MinIO's own default, every origin.
   */
  corsOrigins?: string[];
  /**
   * An Ingress for the public host of presigned links, sending the buckets' paths to the S3 port.
   * MinIO's own endpoints under /minio/ (admin API, metrics, health) are never routed. Its
   * controller's pods must be among `clients.namespacedPods`. Default: no Ingress.
   */
  publicIngress?: MinioPublicIngressArgs;
}

const s3Port = 9000;

/** Server arguments; distributed clusters use MinIO's `{a...b}` expansion over the headless service. */
export function minioServerArgs(opts: {
  mode: "standalone" | "distributed";
  replicas: number;
  drivesPerPod: number;
  statefulSet: string;
  headlessService: string;
  namespace: string;
}): string[] {
  const drives = opts.drivesPerPod > 1 ? `/data/{0...${opts.drivesPerPod - 1}}` : "/data/0";
  const volumes =
    opts.mode === "distributed"
      ? `http://${opts.statefulSet}-{0...${opts.replicas - 1}}.${opts.headlessService}.${opts.namespace}.svc.cluster.local:${s3Port}${drives}`
      : drives;
  // --certs-dir under the writable /tmp: the root file system is read-only.
  return ["server", volumes, "--address", `:${s3Port}`, "--certs-dir", "/tmp/certs"];
}

/**
 * MinIO on Kubernetes: a StatefulSet with its headless and client Services, root credentials from a
 * generated secret, one PVC per drive, probes on MinIO's health endpoints, a hardened security
 * context, a PodDisruptionBudget when distributed and a NetworkPolicy that admits only its clients.
 * Used twice by the program: the hot cluster and the cold one.
 */
export class MinioCluster extends pulumi.ComponentResource {
  /** In-cluster S3 endpoint, e.g. http://hot.storage.svc.cluster.local:9000. */
  readonly endpoint: pulumi.Output<string>;
  readonly serviceName: pulumi.Output<string>;
  readonly rootUser: pulumi.Output<string>;
  readonly rootPassword: pulumi.Output<string>;
  /** Labels of the MinIO pods (for other clusters' NetworkPolicies). */
  readonly podLabels: Record<string, string>;
  /**
   * Resolves once the StatefulSet is up (the Kubernetes provider waits for its pods to be ready).
   * Whatever talks to this MinIO from outside (buckets, users, tiers) must depend on it.
   */
  readonly ready: pulumi.Output<string>;

  constructor(name: string, args: MinioClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("workflow-studio-storage:platform:MinioCluster", name, {}, opts);
    const mode = args.mode ?? "standalone";
    const replicas = mode === "distributed" ? (args.replicas ?? 4) : 1;
    const drivesPerPod = args.drivesPerPod ?? 1;
    if (mode === "distributed" && replicas * drivesPerPod < 4) {
      // A ResourceError names the component in the engine's output, where a plain Error is a stack trace.
      throw new pulumi.ResourceError(
        `MinioCluster ${name}: erasure coding needs at least 4 drives, got ${replicas} pods x ${drivesPerPod} drives`,
        this,
      );
    }
    const badBucket = args.publicIngress?.buckets.find((bucket) => !isValidBucketName(bucket));
    if (badBucket !== undefined) {
      // A bucket named "minio" would route /minio/ (admin API, metrics) to the public.
      throw new pulumi.ResourceError(`MinioCluster ${name}: "${badBucket}" is not a bucket name to publish`, this);
    }
    const child = { parent: this };
    const labels = { "app.kubernetes.io/name": "minio", "app.kubernetes.io/instance": name };
    this.podLabels = labels;
    const meta = (suffix: string) => ({ name: `${name}${suffix}`, namespace: args.namespace, labels });

    const user = new GeneratedSecret(`${name}-root-user`, { length: 20 }, child);
    const password = new GeneratedSecret(`${name}-root-password`, { length: 40 }, child);
    const rootSecret = new k8s.core.v1.Secret(
      `${name}-root`,
      {
        metadata: meta("-root"),
        type: "Opaque",
        stringData: { MINIO_ROOT_USER: user.value, MINIO_ROOT_PASSWORD: password.value },
      },
      child,
    );

    const headless = new k8s.core.v1.Service(
      `${name}-hl`,
      {
        metadata: meta("-hl"),
        spec: {
          clusterIP: "None",
          // Peers must find each other before they are ready: readiness needs the cluster.
          publishNotReadyAddresses: true,
          selector: labels,
          ports: [{ name: "s3", port: s3Port, targetPort: s3Port }],
        },
      },
      child,
    );
    const service = new k8s.core.v1.Service(
      `${name}-svc`,
      {
        metadata: meta(""),
        spec: serviceSpec(labels, { name: "s3", port: s3Port, targetPort: s3Port }, args.nodePort),
      },
      child,
    );

    const metrics = args.metrics ?? "annotations";
    const driveNames = Array.from({ length: drivesPerPod }, (_, i) => `data-${i}`);
    const args$ = pulumi
      .all([args.namespace, headless.metadata.name])
      .apply(([namespace, headlessService]) =>
        minioServerArgs({ mode, replicas, drivesPerPod, statefulSet: name, headlessService, namespace }),
      );
    const statefulSet = new k8s.apps.v1.StatefulSet(
      `${name}-sts`,
      {
        metadata: meta(""),
        spec: {
          serviceName: headless.metadata.name,
          replicas,
          // Distributed pods wait for each other at start: starting them one by one would deadlock.
          podManagementPolicy: mode === "distributed" ? "Parallel" : "OrderedReady",
          selector: { matchLabels: labels },
          template: {
            metadata: { labels, annotations: metrics === "annotations" ? scrapeAnnotations : {} },
            spec: minioPodSpec({
              image: args.image,
              serverArgs: args$,
              rootSecretName: rootSecret.metadata.name,
              driveNames,
              resources: args.resources,
              corsOrigins: args.corsOrigins ?? [],
            }),
          },
          volumeClaimTemplates: driveNames.map((drive) => ({
            metadata: { name: drive, labels },
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName: args.storageClass,
              resources: { requests: { storage: args.storageSize ?? "10Gi" } },
            },
          })),
        },
      },
      child,
    );

    if (mode === "distributed") {
      // One pod at a time may go: the default parity keeps reads and writes with one pod down.
      new k8s.policy.v1.PodDisruptionBudget(
        `${name}-pdb`,
        { metadata: meta(""), spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
        child,
      );
    }

    new k8s.networking.v1.NetworkPolicy(
      `${name}-netpol`,
      { metadata: meta(""), spec: networkPolicySpec(labels, args.clients ?? {}) },
      child,
    );

    if (args.publicIngress) {
      streamingIngress(
        `${name}-ingress`,
        {
          metadata: meta("-public"),
          ingress: args.publicIngress,
          paths: publicBucketPaths(args.publicIngress.buckets),
          service: { name: service.metadata.name, port: s3Port },
          largestRequestBytes: largestUploadRequestBytes(args.publicIngress.maxUploadBytes),
        },
        child,
      );
    }

    if (metrics === "serviceMonitor") {
      new k8s.apiextensions.CustomResource(
        `${name}-metrics`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "ServiceMonitor",
          metadata: meta(""),
          spec: {
            selector: { matchLabels: labels },
            endpoints: [{ port: "s3", path: "/minio/v2/metrics/cluster" }],
          },
        },
        child,
      );
    }

    this.ready = statefulSet.metadata.name;
    this.serviceName = service.metadata.name;
    this.endpoint = pulumi.interpolate`http://${service.metadata.name}.${args.namespace}.svc.cluster.local:${s3Port}`;
    this.rootUser = pulumi.secret(user.value);
    this.rootPassword = pulumi.secret(password.value);
    this.registerOutputs({
      endpoint: this.endpoint,
      serviceName: this.serviceName,
      rootUser: this.rootUser,
      rootPassword: this.rootPassword,
    });
  }
}

/** Prometheus scrape annotations for MinIO's cluster metrics (public: the NetworkPolicy limits who reaches them). */
const scrapeAnnotations = {
  "prometheus.io/scrape": "true",
  "prometheus.io/path": "/minio/v2/metrics/cluster",
  "prometheus.io/port": String(s3Port),
};

const healthProbe = (path: string, period: number) => ({
  httpGet: { path, port: s3Port, scheme: "HTTP" },
  periodSeconds: period,
  timeoutSeconds: 5,
  failureThreshold: 6,
});

/** A MinIO pod: non-root, read-only, no capabilities; root credentials from the Secret; one mount per drive. */
function minioPodSpec(p: {
  image: pulumi.Input<string>;
  serverArgs: pulumi.Input<string[]>;
  rootSecretName: pulumi.Input<string>;
  driveNames: string[];
  resources: MinioClusterArgs["resources"];
  corsOrigins: string[];
}) {
  const fromRootSecret = (key: string) => ({ name: key, valueFrom: { secretKeyRef: { name: p.rootSecretName, key } } });
  return {
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      fsGroupChangePolicy: "OnRootMismatch",
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [
      {
        name: "minio",
        image: p.image,
        args: p.serverArgs,
        ports: [{ name: "s3", containerPort: s3Port }],
        env: [
          fromRootSecret("MINIO_ROOT_USER"),
          fromRootSecret("MINIO_ROOT_PASSWORD"),
          // The NetworkPolicy limits who reaches the port; Prometheus needs no token then.
          { name: "MINIO_PROMETHEUS_AUTH_TYPE", value: "public" },
          { name: "MINIO_BROWSER", value: "off" },
          ...(p.corsOrigins.length > 0
            ? [{ name: "MINIO_API_CORS_ALLOW_ORIGIN", value: p.corsOrigins.join(",") }]
            : []),
        ],
        livenessProbe: healthProbe("/minio/health/live", 10),
        readinessProbe: healthProbe("/minio/health/ready", 5),
        resources: p.resources ?? { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "2Gi" } },
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        },
        volumeMounts: [
          ...p.driveNames.map((drive, i) => ({ name: drive, mountPath: `/data/${i}` })),
          { name: "tmp", mountPath: "/tmp" },
        ],
      },
    ],
    volumes: [{ name: "tmp", emptyDir: {} }],
  };
}

/**
 * Who reaches MinIO's S3 port: its own peers, the given client pods (here and in other namespaces),
 * the given CIDRs; nobody else.
 */
function networkPolicySpec(labels: Record<string, string>, clients: NonNullable<MinioClusterArgs["clients"]>) {
  return {
    podSelector: { matchLabels: labels },
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: [
          // Peers of a distributed cluster talk to each other.
          { podSelector: { matchLabels: labels } },
          ...(clients.podSelectors ?? []).map((matchLabels) => ({ podSelector: { matchLabels } })),
          ...(clients.namespacedPods ?? []).map(namespacedPeer),
          ...(clients.cidrs ?? []).map((cidr) => ({ ipBlock: { cidr } })),
        ],
        ports: [{ protocol: "TCP", port: s3Port }],
      },
    ],
  };
}

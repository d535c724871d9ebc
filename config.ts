// The stack's configuration, validated in one pass. Only index.ts reads config: it hands this module
// a way to read raw values and gets back a typed, checked configuration, or one error that lists
// every problem with the key, the bad value and what is allowed, before any resource exists.
import * as pulumi from "@pulumi/pulumi";
import { parseApiKeys } from "./rules/api-keys";
import {
  DEFAULT_MAX_CONCURRENT_UPLOADS,
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_PRESIGN_MAX_SECONDS,
  DEFAULT_PRESIGN_SECONDS,
  DEFAULT_REGION,
  MAX_CONCURRENT_UPLOADS_LIMIT,
  MAX_OBJECT_BYTES,
  REGION_PATTERN,
  SIGV4_MAX_EXPIRY_SECONDS,
} from "./rules/api-settings";
import { BUCKET_NAME_RULE, isValidBucketName } from "./rules/buckets";
import { DEFAULT_INGRESS_CLASS } from "./rules/ingress";
import {
  dnsSubdomainProblem,
  ingressHostProblem,
  type NamespacedPods,
  nodePortProblem,
  parseLabelSelector,
} from "./rules/kubernetes";
import {
  cidrProblem,
  ENDPOINT_URL_FORMAT,
  endpointUrlProblem,
  isWideOpenCidr,
  originProblem,
  redactUrlCredentials,
} from "./rules/network";
import { TIER_NAME_RULE, tierNameProblem } from "./rules/tiers";

/** Reads a raw config value by its short key (e.g. `transitionDays`) and tells whether it is a secret. */
export interface ConfigSource {
  project: string;
  get(key: string): string | undefined;
  isSecret(key: string): boolean;
}

export type Target = "kubernetes" | "external";

/** A MinIO that already runs: how `pulumi up` reaches it and as whom. */
export interface ExistingMinio {
  endpoint: string;
  accessKey: string;
  secretKey: pulumi.Output<string>;
}

export interface ColdMinioSettings extends ExistingMinio {
  /** The cold endpoint as the hot MinIO reaches it (the tier's endpoint). */
  endpointFromHot: string;
}

/** A cold tier on an S3 endpoint we are given (coldKind s3), instead of a MinIO we administer. */
export interface ColdS3Settings {
  /** The S3 endpoint as the hot MinIO reaches it (the tier's endpoint). */
  endpoint: string;
  bucket: string;
  region: string;
  /** Credentials scoped to that bucket (secret). */
  accessKey: string;
  secretKey: pulumi.Output<string>;
}

export interface MinioClusterSettings {
  mode: "standalone" | "distributed";
  replicas: number;
  drivesPerPod: number;
  storageSize: string;
  storageClass?: string;
  /** Publish the S3 port on this NodePort of every node (e.g. to reach MinIO from outside a local cluster). */
  nodePort?: number;
}

/** The `external` target's settings: MinIO servers that already run. */
export interface ExternalSettings {
  hot: ExistingMinio & { publicEndpoint: string };
  /** The cold MinIO we administer; absent when the cold tier is an S3 endpoint (`coldS3`). */
  cold?: ColdMinioSettings;
}

/** A host published through the ingress controller, with its certificate's Secret (none: plain HTTP). */
export interface PublishedHost {
  host: string;
  tlsSecretName?: string;
}

/** The `kubernetes` target's settings. */
export interface KubernetesSettings {
  namespace: string;
  context?: string;
  renderYamlTo?: string;
  minioImage: string;
  hot: MinioClusterSettings;
  /** Absent when the cold tier is an S3 endpoint (`coldS3`). */
  cold?: MinioClusterSettings;
  hotManagementEndpoint: string;
  hotPublicEndpoint: string;
  /** Absent when the cold tier is an S3 endpoint (`coldS3`). */
  coldManagementEndpoint?: string;
  managementSources: string[];
  /** The IngressClass of every Ingress the stack makes. */
  ingressClassName: string;
  /** The ingress controller's pods: the hot MinIO admits them when its public Ingress is on. */
  ingressController: NamespacedPods;
  /** Prometheus' pods: admitted to MinIO's S3 port (its metrics) and to the API's metrics port. */
  prometheus: NamespacedPods;
  /** The API's Ingress (`apiIngressHost`). */
  apiIngress?: PublishedHost;
  /** The hot MinIO's public Ingress (`minioPublicIngress`), for the host of `minioPublicEndpoint`. */
  minioIngress?: PublishedHost;
  /** Publish the API on this NodePort (`apiNodePort`). */
  apiNodePort?: number;
  /** The API bundle shipped in the ConfigMap (`apiBundlePath`); undefined: the program's dist/api/server.js. */
  apiBundlePath?: string;
}

/** What every target shares. */
export interface CommonSettings {
  /** Set when coldKind is s3: the tier goes to this S3 endpoint, and no cold MinIO is run or administered. */
  coldS3?: ColdS3Settings;
  buckets: {
    uploads: string;
    artifacts: string;
    versioning: boolean;
    ephemeral: boolean;
    /** Take over buckets, users and the tier of our names that exist and are not this stack's. */
    adoptExisting: boolean;
  };
  lifecycle: { tierName: string; transitionDays: number; minObjectSizeBytes: number };
  api: {
    presignDefaultSeconds: number;
    presignMaxSeconds: number;
    maxUploadBytes: number;
    /** Given keys (secret): the API_KEYS JSON text, checked with parseApiKeys; undefined to generate one. */
    apiKeys?: pulumi.Output<string>;
    /** Uploads one API process streams at once (MAX_CONCURRENT_UPLOADS). */
    maxConcurrentUploads: number;
    /** The region MinIO answers for; presigned links are signed for it (MINIO_REGION). */
    minioRegion: string;
    /** Browser origins allowed to call the API and to send presigned requests to the hot MinIO. */
    corsOrigins: string[];
    replicas: number;
    /** Port of a local API process started from the stack's outputs; metrics on the next one. */
    localPort: number;
    image?: string;
    nodeImage: string;
  };
  /** Settings that work but deserve a second look; index.ts logs them (this module has no side effects). */
  warnings: string[];
}

/** The two targets as a union: narrowing on `target` gives the settings that target has, no casts. */
export type StackConfig = CommonSettings &
  (
    | { target: "external"; external: ExternalSettings; kubernetes?: undefined }
    | { target: "kubernetes"; kubernetes: KubernetesSettings; external?: undefined }
  );

/**
 * Defaults by config key. Pulumi.yaml declares the same defaults (a unit test keeps the two equal),
 * so `pulumi config` and a reviewer see them too; keys absent here are optional with no default.
 */
export const defaults = {
  target: "kubernetes",
  uploadsBucket: "user-uploads",
  artifactsBucket: "workflow-artifacts",
  bucketVersioning: false,
  ephemeral: false,
  adoptExisting: false,
  tierName: "COLD",
  transitionDays: 30,
  /** "Large artifacts": objects above 10 MiB move to the cold tier. */
  transitionMinSizeBytes: 10 * 1024 * 1024,
  presignDefaultSeconds: DEFAULT_PRESIGN_SECONDS,
  presignMaxSeconds: DEFAULT_PRESIGN_MAX_SECONDS,
  maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES,
  apiReplicas: 2,
  localApiPort: 18080,
  apiMaxConcurrentUploads: DEFAULT_MAX_CONCURRENT_UPLOADS,
  minioRegion: DEFAULT_REGION,
  coldKind: "minio",
  coldRegion: DEFAULT_REGION,
  apiNodeImage: "node:22.23.3-alpine",
  namespace: "workflow-studio-storage",
  minioMode: "standalone",
  minioReplicas: 4,
  minioDrivesPerPod: 1,
  minioStorageSize: "10Gi",
  coldMode: "standalone",
  coldReplicas: 4,
  coldDrivesPerPod: 1,
  coldStorageSize: "50Gi",
  ingressClassName: DEFAULT_INGRESS_CLASS,
  ingressAllowPlainHttp: false,
  minioPublicIngress: false,
  // The namespace label every cluster sets (1.22+), and the labels the controllers' charts give their pods.
  ingressControllerNamespaceLabels: "kubernetes.io/metadata.name=ingress-nginx",
  ingressControllerPodLabels: "app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller",
  prometheusNamespaceLabels: "kubernetes.io/metadata.name=monitoring",
  prometheusPodLabels: "app.kubernetes.io/name=prometheus",
} as const;
type DefaultKey = keyof typeof defaults;

/** Collects every problem, so one run names all of them. */
class Problems {
  readonly list: string[] = [];
  constructor(readonly project: string) {}
  add(key: string, value: string | undefined, allowed: string): void {
    const shown = value === undefined ? "(not set)" : `"${value}"`;
    this.list.push(`${this.project}:${key}: ${shown} is not valid; ${allowed}`);
  }
  /** A problem with a secret value: named by its key, the value never shown. */
  addSecret(key: string, problem: string): void {
    this.list.push(`${this.project}:${key}: (secret, not shown) is not valid; ${problem}`);
  }
}

/** What a value must pass: a pattern, or a rule from rules/ in the same shape. */
type Rule = { test(value: string): boolean };
const bucketName: Rule = { test: isValidBucketName };

/** Typed readers over a ConfigSource; each records a problem instead of throwing. */
function readers(source: ConfigSource, problems: Problems) {
  const raw = (key: string) => {
    const v = source.get(key);
    return v === undefined || v === "" ? undefined : v;
  };
  const fallbackOf = (key: string): string | undefined =>
    key in defaults ? String(defaults[key as DefaultKey]) : undefined;
  const string = (key: string, pattern?: Rule, allowed?: string, fallback = fallbackOf(key)): string => {
    const v = raw(key) ?? fallback;
    if (v === undefined) problems.add(key, v, allowed ?? "it is required");
    else if (pattern && !pattern.test(v)) problems.add(key, v, allowed ?? `it must match ${pattern}`);
    return v ?? "";
  };
  const optional = (key: string, pattern?: Rule, allowed?: string): string | undefined => {
    const v = raw(key);
    if (v !== undefined && pattern && !pattern.test(v)) problems.add(key, v, allowed ?? `it must match ${pattern}`);
    return v;
  };
  const oneOf = <T extends string>(key: string, choices: readonly T[]): T => {
    const v = raw(key) ?? fallbackOf(key);
    if (!choices.includes(v as T)) problems.add(key, v, `allowed: ${choices.join(", ")}`);
    return v as T;
  };
  const integer = (key: string, min: number, max: number): number => {
    const fallback = Number(fallbackOf(key));
    const v = raw(key);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) {
      problems.add(key, v, `allowed: an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const boolean = (key: string): boolean => {
    const v = raw(key);
    if (v === undefined) return fallbackOf(key) === "true";
    if (v !== "true" && v !== "false") problems.add(key, v, "allowed: true or false");
    return v === "true";
  };
  /**
   * An endpoint: scheme://host[:port], no credentials, path or query (rules/network.ts). A fallback
   * (another key's value, or a placeholder) is not checked again; a refused value is shown without
   * whatever could be credentials.
   */
  const url = (key: string, fallback?: string): string => {
    const v = raw(key);
    if (v === undefined) {
      if (fallback === undefined) problems.add(key, undefined, `it must be ${ENDPOINT_URL_FORMAT}`);
      return fallback ?? "";
    }
    const problem = endpointUrlProblem(v);
    if (problem) problems.add(key, redactUrlCredentials(v), problem);
    return v;
  };
  /** Secrets must be stored encrypted: `pulumi config set --secret KEY VALUE`. */
  const secret = (key: string, required: boolean): pulumi.Output<string> | undefined => {
    const v = raw(key);
    if (v === undefined) {
      if (required) problems.list.push(`${source.project}:${key}: (not set) is required; set it with --secret`);
      return undefined;
    }
    if (!source.isSecret(key)) {
      problems.list.push(
        `${source.project}:${key}: is stored in plain text; set it with: pulumi config set --secret ${key}`,
      );
    }
    return pulumi.secret(v);
  };
  return { raw, string, optional, oneOf, integer, boolean, url, secret };
}

const quantity = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi)?$/;
const dnsSubdomain: Rule = { test: (text) => dnsSubdomainProblem(text) === undefined };

/** A comma-separated list of browser origins (rules/network.ts `originProblem`), each checked. */
function corsOrigins(text: string | undefined, problems: Problems): string[] {
  const origins = text ? text.split(",").map((o) => o.trim()) : [];
  for (const origin of origins) {
    const problem = originProblem(origin);
    if (problem)
      problems.add(
        "corsAllowedOrigins",
        origin,
        `${problem}; allowed: comma-separated origins, e.g. https://studio.example.com`,
      );
  }
  return origins;
}

/** Validates the whole configuration; throws one Error listing every problem. */
export function loadStackConfig(source: ConfigSource): StackConfig {
  const problems = new Problems(source.project);
  const r = readers(source, problems);

  const target = r.oneOf<Target>("target", ["kubernetes", "external"]);
  const buckets = {
    uploads: r.string("uploadsBucket", bucketName, `allowed: ${BUCKET_NAME_RULE}`),
    artifacts: r.string("artifactsBucket", bucketName, `allowed: ${BUCKET_NAME_RULE}`),
    versioning: r.boolean("bucketVersioning"),
    ephemeral: r.boolean("ephemeral"),
    adoptExisting: r.boolean("adoptExisting"),
  };
  if (buckets.uploads === buckets.artifacts) {
    problems.add("artifactsBucket", buckets.artifacts, "it must differ from uploadsBucket");
  }
  const lifecycle = {
    tierName: r.string(
      "tierName",
      { test: (name) => tierNameProblem(name) === undefined },
      `allowed: ${TIER_NAME_RULE}`,
    ),
    transitionDays: r.integer("transitionDays", 0, 36500),
    minObjectSizeBytes: r.integer("transitionMinSizeBytes", 0, MAX_OBJECT_BYTES),
  };
  const api = {
    presignDefaultSeconds: r.integer("presignDefaultSeconds", 1, SIGV4_MAX_EXPIRY_SECONDS),
    presignMaxSeconds: r.integer("presignMaxSeconds", 1, SIGV4_MAX_EXPIRY_SECONDS),
    maxUploadBytes: r.integer("maxUploadBytes", 1, MAX_OBJECT_BYTES),
    apiKeys: r.secret("apiKeys", false),
    maxConcurrentUploads: r.integer("apiMaxConcurrentUploads", 1, MAX_CONCURRENT_UPLOADS_LIMIT),
    minioRegion: r.string(
      "minioRegion",
      REGION_PATTERN,
      "allowed: 1-63 lowercase letters, digits and hyphens, starting with a letter or digit (e.g. eu-west-1)",
    ),
    corsOrigins: corsOrigins(r.optional("corsAllowedOrigins"), problems),
    replicas: r.integer("apiReplicas", 1, 50),
    localPort: r.integer("localApiPort", 1024, 65534),
    image: r.optional("apiImage"),
    nodeImage: r.string("apiNodeImage"),
  };
  // The keys are checked in clear (the raw config value) with the API's own rules, so a key the API
  // would refuse never reaches a pod; the problems name entries by position and name, never by key.
  const apiKeysText = r.raw("apiKeys");
  if (apiKeysText !== undefined) {
    for (const problem of parseApiKeys(apiKeysText).problems) problems.addSecret("apiKeys", problem);
  }
  if (api.presignDefaultSeconds > api.presignMaxSeconds) {
    problems.add(
      "presignDefaultSeconds",
      String(api.presignDefaultSeconds),
      `it must not exceed presignMaxSeconds (${api.presignMaxSeconds})`,
    );
  }

  const coldKind = r.oneOf("coldKind", ["minio", "s3"] as const);
  const common: CommonSettings = { buckets, lifecycle, api, warnings: [] };
  if (coldKind === "s3") common.coldS3 = coldS3Settings(r);
  const config: StackConfig =
    target === "external"
      ? { ...common, target, external: externalSettings(r, coldKind === "minio") }
      : { ...common, target, kubernetes: kubernetesSettings(r, problems, common.warnings, coldKind === "minio") };

  if (problems.list.length > 0) {
    throw new Error(`Invalid stack configuration:\n  - ${problems.list.join("\n  - ")}`);
  }
  return config;
}

/** coldKind s3: the endpoint as the hot MinIO reaches it, the bucket, its region, bucket-scoped keys. */
function coldS3Settings(r: ReturnType<typeof readers>): ColdS3Settings {
  return {
    endpoint: r.url("coldEndpoint"),
    bucket: r.string("coldBucket", bucketName, `allowed: ${BUCKET_NAME_RULE}`),
    region: r.string("coldRegion", REGION_PATTERN, "allowed: a region name such as eu-west-1"),
    accessKey: r.string("coldAccessKey"),
    secretKey: r.secret("coldSecretKey", true) ?? pulumi.secret(""),
  };
}

function externalSettings(r: ReturnType<typeof readers>, coldMinio: boolean): ExternalSettings {
  const hotEndpoint = r.url("hotEndpoint");
  const hot = {
    endpoint: hotEndpoint,
    publicEndpoint: r.url("hotPublicEndpoint", hotEndpoint || undefined),
    accessKey: r.string("hotAccessKey"),
    secretKey: r.secret("hotSecretKey", true) ?? pulumi.secret(""),
  };
  if (!coldMinio) return { hot };
  const coldEndpoint = r.url("coldEndpoint");
  return {
    hot,
    cold: {
      endpoint: coldEndpoint,
      endpointFromHot: r.url("coldEndpointFromHot", coldEndpoint || undefined),
      accessKey: r.string("coldAccessKey"),
      secretKey: r.secret("coldSecretKey", true) ?? pulumi.secret(""),
    },
  };
}

function kubernetesSettings(
  r: ReturnType<typeof readers>,
  problems: Problems,
  warnings: string[],
  coldMinio: boolean,
): KubernetesSettings {
  const cluster = (prefix: "minio" | "cold") => {
    const settings: MinioClusterSettings = {
      mode: r.oneOf(`${prefix}Mode`, ["standalone", "distributed"] as const),
      replicas: r.integer(`${prefix}Replicas`, 1, 32),
      drivesPerPod: r.integer(`${prefix}DrivesPerPod`, 1, 16),
      storageSize: r.string(`${prefix}StorageSize`, quantity, "allowed: a Kubernetes quantity such as 10Gi"),
      storageClass: r.optional(`${prefix}StorageClass`),
      nodePort: nodePort(`${prefix}NodePort`),
    };
    // Erasure coding needs at least four drives in all; MinIO refuses to start otherwise.
    if (settings.mode === "distributed" && settings.replicas * settings.drivesPerPod < 4) {
      problems.add(
        `${prefix}Replicas`,
        String(settings.replicas),
        `a distributed cluster needs replicas x drivesPerPod >= 4 (now ${settings.replicas} x ${settings.drivesPerPod})`,
      );
    }
    if (settings.mode === "standalone") settings.replicas = 1;
    return settings;
  };
  const nodePort = (key: string): number | undefined => {
    const v = r.optional(key, { test: (text) => nodePortProblem(text) === undefined }, nodePortProblem("x"));
    return v === undefined ? undefined : Number(v);
  };
  const renderYamlTo = r.optional("renderYamlTo");
  // Rendering needs no live endpoint; deploying needs to know where `pulumi up` reaches MinIO.
  const endpoint = (key: string) => (renderYamlTo ? r.url(key, "http://render.invalid") : r.url(key));
  const sources = r.optional("managementSources");
  const managementSources = sources ? sources.split(",").map((s) => s.trim()) : [];
  for (const s of managementSources) {
    const problem = cidrProblem(s);
    if (problem) {
      problems.add("managementSources", s, `${problem}; allowed: comma-separated IPv4 CIDRs, e.g. 10.0.0.0/8`);
    } else if (isWideOpenCidr(s)) {
      warnings.push(
        `${problems.project}:managementSources: "${s}" admits every address: the S3 port of both MinIO clusters (and their metrics, served without a token) is open to anything that routes to the cluster; prefer your management network's CIDRs`,
      );
    }
  }
  const settings: KubernetesSettings = {
    namespace: r.string("namespace", /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "allowed: a DNS label"),
    context: r.optional("kubeContext"),
    renderYamlTo,
    // Upstream publishes no images any more: the operator names a build, pinned (README, "MinIO image").
    minioImage: r.string(
      "minioImage",
      /^[^\s:@]+(:(?!latest$)[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/,
      "it is required and must be pinned: a tag other than latest, or @sha256:<digest> (see README, MinIO image)",
    ),
    hot: cluster("minio"),
    // coldKind s3: no cold MinIO runs in the cluster, so none is configured or reached.
    cold: coldMinio ? cluster("cold") : undefined,
    hotManagementEndpoint: endpoint("minioManagementEndpoint"),
    hotPublicEndpoint: endpoint("minioPublicEndpoint"),
    coldManagementEndpoint: coldMinio ? endpoint("coldManagementEndpoint") : undefined,
    managementSources,
    ...edgeSettings(r, problems, warnings),
    apiNodePort: nodePort("apiNodePort"),
    apiBundlePath: r.optional("apiBundlePath"),
  };
  const ports = [
    ["minioNodePort", settings.hot.nodePort],
    ["coldNodePort", settings.cold?.nodePort],
    ["apiNodePort", settings.apiNodePort],
  ] as const;
  ports.forEach(([key, port], i) => {
    const earlier = ports.slice(0, i).find(([, p]) => port !== undefined && p === port);
    if (earlier) problems.add(key, String(port), `it is ${earlier[0]}'s too: each Service needs a NodePort of its own`);
  });
  return settings;
}

/** `host[:port]` of an endpoint key's value, when it is a valid endpoint. */
function endpointHost(r: ReturnType<typeof readers>, key: string): string | undefined {
  const value = r.raw(key);
  return value !== undefined && endpointUrlProblem(value) === undefined ? new URL(value).host : undefined;
}

/**
 * The public edge: the Ingresses of the API and of the hot MinIO (class, hosts, TLS) and the pods
 * of other namespaces that MinIO and the API admit (the ingress controller, Prometheus).
 */
function edgeSettings(
  r: ReturnType<typeof readers>,
  problems: Problems,
  warnings: string[],
): Pick<KubernetesSettings, "ingressClassName" | "ingressController" | "prometheus" | "apiIngress" | "minioIngress"> {
  const selector = (key: string): Record<string, string> => {
    const text = r.string(key);
    const parsed = parseLabelSelector(text);
    if ("problem" in parsed) problems.add(key, text, parsed.problem);
    return "labels" in parsed ? parsed.labels : {};
  };
  const pods = (prefix: string): NamespacedPods => ({
    namespaceLabels: selector(`${prefix}NamespaceLabels`),
    podLabels: selector(`${prefix}PodLabels`),
  });
  const allowPlainHttp = r.boolean("ingressAllowPlainHttp");

  /**
   * A published host with its certificate's Secret (`key`). The Secret is required: the API takes
   * bearer keys and files, MinIO presigned links; only `ingressAllowPlainHttp` (e.g. behind a load
   * balancer that terminates TLS) publishes plain HTTP, with a warning. Named while `hostKey` makes
   * no Ingress, it would do nothing: refused. `host` is undefined when `hostKey`'s is refused.
   */
  const published = (
    key: string,
    hostKey: string,
    ingress: { wanted: boolean; host: string | undefined },
    what: string,
  ): PublishedHost | undefined => {
    const secretName = r.optional(
      key,
      dnsSubdomain,
      "allowed: the name of a kubernetes.io/tls Secret in the namespace (a DNS subdomain)",
    );
    const host = ingress.host;
    if (!ingress.wanted && secretName !== undefined) {
      problems.add(key, secretName, `it needs ${hostKey}: without it there is no Ingress`);
    }
    if (host === undefined) return undefined;
    if (secretName === undefined && !allowPlainHttp) {
      problems.add(
        key,
        undefined,
        `it is required with ${hostKey}: name the kubernetes.io/tls Secret holding ${host}'s certificate, or set ingressAllowPlainHttp to true to publish plain HTTP on purpose (e.g. behind a load balancer that terminates TLS)`,
      );
    } else if (secretName === undefined) {
      warnings.push(
        `${problems.project}:ingressAllowPlainHttp: ${what} on ${host} is published over plain HTTP: whatever crosses it is readable on the way unless something in front terminates TLS`,
      );
    }
    return { host, tlsSecretName: secretName };
  };

  const apiHost = r.optional("apiIngressHost");
  if (apiHost !== undefined) {
    const problem = ingressHostProblem(apiHost);
    if (problem) problems.add("apiIngressHost", apiHost, problem);
  }
  const apiIngress = published(
    "apiIngressTlsSecret",
    "apiIngressHost",
    { wanted: apiHost !== undefined, host: apiHost },
    "the API (bearer keys, files)",
  );

  // MinIO's public Ingress serves the host presigned links name: minioPublicEndpoint's.
  const minioWanted = r.boolean("minioPublicIngress");
  let minioHost: string | undefined;
  if (minioWanted) {
    const endpointText = r.raw("minioPublicEndpoint");
    if (endpointText === undefined) {
      problems.add(
        "minioPublicEndpoint",
        undefined,
        "it is required with minioPublicIngress: the Ingress serves its host",
      );
    } else if (endpointUrlProblem(endpointText) === undefined) {
      const url = new URL(endpointText);
      const problem = ingressHostProblem(url.hostname);
      if (problem) problems.add("minioPublicEndpoint", endpointText, `${problem}: minioPublicIngress serves its host`);
      else minioHost = url.hostname;
    }
  }
  const minioIngress = published(
    "minioIngressTlsSecret",
    "minioPublicIngress",
    { wanted: minioWanted, host: minioHost },
    "MinIO (presigned links)",
  );
  if (minioIngress?.tlsSecretName && r.raw("minioPublicEndpoint")?.startsWith("http://")) {
    problems.add(
      "minioPublicEndpoint",
      r.raw("minioPublicEndpoint"),
      "it must be https:// when the public Ingress has TLS (minioIngressTlsSecret): presigned links would otherwise go out over plain HTTP",
    );
  }
  if (minioIngress) {
    const publicHost = endpointHost(r, "minioPublicEndpoint");
    const managementEndpoint = r.raw("minioManagementEndpoint");
    if (publicHost !== undefined && endpointHost(r, "minioManagementEndpoint") === publicHost) {
      problems.add(
        "minioManagementEndpoint",
        redactUrlCredentials(managementEndpoint ?? ""),
        "it must not be minioPublicEndpoint's host: pulumi up needs MinIO's admin API (/minio/admin/), which the public Ingress never routes; reach MinIO for management another way (README, On Kubernetes)",
      );
    }
    if (apiIngress?.host === minioIngress.host) {
      problems.add(
        "apiIngressHost",
        apiIngress.host,
        "it must differ from minioPublicEndpoint's host: the two Ingresses would share one server, and a bucket path could shadow an API path",
      );
    }
  }

  return {
    ingressClassName: r.string(
      "ingressClassName",
      dnsSubdomain,
      "allowed: the name of an IngressClass (a DNS subdomain), e.g. nginx",
    ),
    ingressController: pods("ingressController"),
    prometheus: pods("prometheus"),
    apiIngress,
    minioIngress,
  };
}

// The program: reads and validates the stack's configuration once, composes the layers for the
// chosen target and exports the outputs. Components never read config.
import { join } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ApiAccess } from "./components/api-access";
import { readApiBundle } from "./components/api-bundle";
import { ArtifactBuckets } from "./components/artifact-buckets";
import { type ColdStorage, ColdTier } from "./components/cold-tier";
import { MinioCluster } from "./components/minio-cluster";
import { GeneratedSecret } from "./components/providers/generated-secret";
import type { MinioConnectionInput } from "./components/providers/minio-connection";
import { waitUntilReachable } from "./components/providers/reachable";
import {
  apiSettingsEnvironment,
  UploadApi,
  type UploadApiStorageSettings,
  uploadApiPodSelector,
} from "./components/upload-api";
import { type ExternalSettings, type KubernetesSettings, loadStackConfig } from "./config";
import { singleKeyWithAllScopes } from "./rules/api-keys";

const project = pulumi.getProject();
// isConfigSecret is exported by the SDK (Config uses it to warn) but left out of its typings.
const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret(key: string): boolean };
const config = loadStackConfig({
  project,
  get: (key) => runtime.getConfig(`${project}:${key}`),
  isSecret: (key) => runtime.isConfigSecret(`${project}:${key}`),
});
for (const warning of config.warnings) pulumi.log.warn(warning);

/** Ports of a local API process started from this stack's outputs (npm run local): API and metrics. */
const localApiPort = config.api.localPort;
const localMetricsPort = localApiPort + 1;

/**
 * The API's bearer keys as the API_KEYS JSON text (rules/api-keys.ts): given in config, or one key
 * with every scope, generated and kept in state.
 */
const apiKeys: pulumi.Output<string> =
  config.api.apiKeys ??
  pulumi.secret(
    new GeneratedSecret("api-key", { length: 40 }).value.apply((key) => singleKeyWithAllScopes("default", key)),
  );

/** Where each MinIO is, for the storage layer (management) and for clients (in-cluster, public). */
interface Platform {
  hot: MinioConnectionInput;
  cold: ColdStorage;
  hotInClusterEndpoint: pulumi.Input<string>;
  hotPublicEndpoint: pulumi.Input<string>;
  /** False when the stack only renders manifests: no MinIO runs that the storage layer could reach. */
  storageReachable: boolean;
  /** Deploys the API once its storage settings and credentials are known (kubernetes target). */
  deployApi?: (storage: UploadApiStorageSettings, access: ApiAccess) => UploadApi;
}

/** The cold side as ColdTier takes it: the MinIO we administer, or else the S3 endpoint we are given. */
function coldStorage(minio: (() => ColdStorage) | undefined): ColdStorage {
  if (minio) return minio();
  const s3 = config.coldS3;
  if (!s3) throw new Error("no cold storage configured: set coldKind and its keys");
  return { kind: "s3", ...s3 };
}

function externalPlatform(external: ExternalSettings): Platform {
  const cold = external.cold;
  return {
    hot: { endpoint: external.hot.endpoint, accessKey: external.hot.accessKey, secretKey: external.hot.secretKey },
    cold: coldStorage(
      cold &&
        (() => ({
          kind: "minio",
          connection: { endpoint: cold.endpoint, accessKey: cold.accessKey, secretKey: cold.secretKey },
          endpointFromHot: cold.endpointFromHot,
        })),
    ),
    hotInClusterEndpoint: external.hot.endpoint,
    hotPublicEndpoint: external.hot.publicEndpoint,
    storageReachable: true,
  };
}

function kubernetesPlatform(settings: KubernetesSettings): Platform {
  const provider = new k8s.Provider("kubernetes", {
    context: settings.context,
    renderYamlToDirectory: settings.renderYamlTo,
  });
  const namespace = new k8s.core.v1.Namespace(
    "namespace",
    { metadata: { name: settings.namespace, labels: { "app.kubernetes.io/part-of": project } } },
    { provider },
  );
  const opts = { provider, dependsOn: [namespace] };
  const minioIngress = settings.minioIngress;
  const hot = new MinioCluster(
    "hot",
    {
      namespace: settings.namespace,
      image: settings.minioImage,
      ...settings.hot,
      clients: {
        podSelectors: [uploadApiPodSelector],
        // Prometheus scrapes the metrics on the S3 port; the ingress controller carries presigned
        // requests from the public Ingress, when there is one. The management CIDRs stay as given.
        namespacedPods: [settings.prometheus, ...(minioIngress ? [settings.ingressController] : [])],
        cidrs: settings.managementSources,
      },
      corsOrigins: config.api.corsOrigins,
      publicIngress: minioIngress && {
        ...minioIngress,
        className: settings.ingressClassName,
        buckets: [config.buckets.uploads, config.buckets.artifacts],
        maxUploadBytes: config.api.maxUploadBytes,
      },
    },
    opts,
  );
  const coldSettings = settings.cold;
  const coldManagementEndpoint = settings.coldManagementEndpoint;
  // coldKind s3: the tier goes to the S3 endpoint we are given; no cold MinIO runs here.
  const cold =
    coldSettings && coldManagementEndpoint
      ? {
          managementEndpoint: coldManagementEndpoint,
          cluster: new MinioCluster(
            "cold",
            {
              namespace: settings.namespace,
              image: settings.minioImage,
              ...coldSettings,
              // The hot cluster moves objects to the cold one: it is the cold tier's only data client.
              clients: {
                podSelectors: [hot.podLabels],
                namespacedPods: [settings.prometheus],
                cidrs: settings.managementSources,
              },
            },
            opts,
          ),
        }
      : undefined;
  const api = config.api;
  // The management endpoints are configured strings; taking them through `ready` makes every
  // resource that talks to a MinIO wait until its pods are up and the endpoint answers (a NodePort
  // or Ingress follows the pods a moment later). A preview or a render talks to nobody: no wait.
  const whenReady = (cluster: MinioCluster, endpoint: string, key: string) =>
    cluster.ready.apply(async () => {
      // Rendering manifests reaches no cluster, so there is nothing to wait for.
      if (!pulumi.runtime.isDryRun() && settings.renderYamlTo === undefined)
        await waitUntilReachable(endpoint, { what: key });
      return endpoint;
    });
  return {
    hot: {
      endpoint: whenReady(hot, settings.hotManagementEndpoint, "minioManagementEndpoint"),
      accessKey: hot.rootUser,
      secretKey: hot.rootPassword,
    },
    cold: coldStorage(
      cold &&
        (() => ({
          kind: "minio",
          connection: {
            endpoint: whenReady(cold.cluster, cold.managementEndpoint, "coldManagementEndpoint"),
            accessKey: cold.cluster.rootUser,
            secretKey: cold.cluster.rootPassword,
          },
          endpointFromHot: cold.cluster.endpoint,
        })),
    ),
    hotInClusterEndpoint: hot.endpoint,
    hotPublicEndpoint: settings.hotPublicEndpoint,
    storageReachable: settings.renderYamlTo === undefined,
    deployApi: (storage, access) =>
      new UploadApi(
        "upload-api",
        {
          namespace: settings.namespace,
          storage,
          credentials: { accessKey: access.accessKey, secretKey: access.secretKey },
          apiKeys,
          image: api.image,
          bundle: api.image
            ? undefined
            : readApiBundle(settings.apiBundlePath ?? join(__dirname, "dist", "api", "server.js")),
          nodePort: settings.apiNodePort,
          nodeImage: api.nodeImage,
          replicas: api.replicas,
          ingress: settings.apiIngress && { ...settings.apiIngress, className: settings.ingressClassName },
          metricsScrapers: [settings.prometheus],
        },
        opts,
      ),
  };
}

const platform =
  config.target === "external" ? externalPlatform(config.external) : kubernetesPlatform(config.kubernetes);

// The buckets are deleted before the tier (see ArtifactBuckets' `after`), yet the tier's lifecycle
// rules need the buckets: the buckets wait on a promise of the tier, kept once ColdTier exists.
let tierMade: (tier: pulumi.Resource[]) => void = () => undefined;
const tierResources = new Promise<pulumi.Resource[]>((resolve) => {
  tierMade = resolve;
});
const buckets = platform.storageReachable
  ? new ArtifactBuckets("buckets", {
      connection: platform.hot,
      uploadsBucket: config.buckets.uploads,
      artifactsBucket: config.buckets.artifacts,
      versioning: config.buckets.versioning,
      ephemeral: config.buckets.ephemeral,
      adoptExisting: config.buckets.adoptExisting,
      after: tierResources,
    })
  : undefined;
const uploads = buckets?.uploadsBucket ?? config.buckets.uploads;
const artifacts = buckets?.artifactsBucket ?? config.buckets.artifacts;

const lifecycle = config.lifecycle;
const coldTier = platform.storageReachable
  ? new ColdTier("cold-tier", {
      hot: platform.hot,
      cold: platform.cold,
      tierName: lifecycle.tierName,
      ephemeral: config.buckets.ephemeral,
      adoptExisting: config.buckets.adoptExisting,
      rules: [
        { name: "uploads", bucket: uploads },
        { name: "artifacts", bucket: artifacts },
      ].map((rule) => ({
        ...rule,
        transitionDays: lifecycle.transitionDays,
        minObjectSizeBytes: lifecycle.minObjectSizeBytes,
      })),
    })
  : undefined;

tierMade(coldTier ? [coldTier.tier] : []);

const access = new ApiAccess("api-access", {
  connection: platform.storageReachable ? platform.hot : undefined,
  uploadsBucket: uploads,
  artifactsBucket: artifacts,
  adoptExisting: config.buckets.adoptExisting,
});

const storageForApi: UploadApiStorageSettings = {
  minioEndpoint: platform.hotInClusterEndpoint,
  minioPublicEndpoint: platform.hotPublicEndpoint,
  uploadsBucket: uploads,
  artifactsBucket: artifacts,
  presignDefaultSeconds: config.api.presignDefaultSeconds,
  presignMaxSeconds: config.api.presignMaxSeconds,
  maxUploadBytes: config.api.maxUploadBytes,
  minioRegion: config.api.minioRegion,
  maxConcurrentUploads: config.api.maxConcurrentUploads,
  corsOrigins: config.api.corsOrigins,
};
const api = platform.deployApi?.(storageForApi, access);

export const target = config.target;
export const minioEndpoint = platform.hotInClusterEndpoint;
export const minioPublicEndpoint = platform.hotPublicEndpoint;
export const uploadsBucket = uploads;
export const artifactsBucket = artifacts;
export const tierName = coldTier?.tierName ?? lifecycle.tierName;
/** In-cluster URL of the API (kubernetes target); a local API process listens on localApiPort. */
export const apiUrl = api?.url ?? `http://127.0.0.1:${localApiPort}`;
/** The API's environment, for running it from this stack's outputs (`npm run local`); secrets apart. */
export const apiSettings = apiSettingsEnvironment(storageForApi, localApiPort, localMetricsPort);
export const apiAccessKey = access.accessKey;
export const apiSecretKey = access.secretKey;
export const apiBearerKeys = pulumi.secret(apiKeys);

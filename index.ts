// The program: reads and validates the stack's configuration once, composes the layers for the
// chosen target and exports the outputs. Components never read config.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ArtifactBuckets } from "./components/artifact-buckets";
import { MinioCluster } from "./components/minio-cluster";
import type { MinioConnectionInput } from "./components/providers/minio-connection";
import { loadStackConfig, type StackConfig } from "./config";

const project = pulumi.getProject();
// isConfigSecret is exported by the SDK (Config uses it to warn) but left out of its typings.
const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret(key: string): boolean };
const config = loadStackConfig({
  project,
  get: (key) => runtime.getConfig(`${project}:${key}`),
  isSecret: (key) => runtime.isConfigSecret(`${project}:${key}`),
});

/** Where each MinIO is, for the storage layer (management) and for clients (in-cluster, public). */
interface Platform {
  hot: MinioConnectionInput;
  hotInClusterEndpoint: pulumi.Input<string>;
  hotPublicEndpoint: pulumi.Input<string>;
  /** False when the stack only renders manifests: no MinIO runs that the storage layer could reach. */
  storageReachable: boolean;
}

function externalPlatform(external: NonNullable<StackConfig["external"]>): Platform {
  return {
    hot: { endpoint: external.hot.endpoint, accessKey: external.hot.accessKey, secretKey: external.hot.secretKey },
    hotInClusterEndpoint: external.hot.endpoint,
    hotPublicEndpoint: external.hot.publicEndpoint,
    storageReachable: true,
  };
}

function kubernetesPlatform(settings: NonNullable<StackConfig["kubernetes"]>): Platform {
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
  const apiPods = { "app.kubernetes.io/name": "upload-api" };
  const hot = new MinioCluster(
    "hot",
    {
      namespace: settings.namespace,
      image: settings.minioImage,
      ...settings.hot,
      clients: { podSelectors: [apiPods], cidrs: settings.managementSources },
    },
    opts,
  );
  new MinioCluster(
    "cold",
    {
      namespace: settings.namespace,
      image: settings.minioImage,
      ...settings.cold,
      // The hot cluster moves objects to the cold one: it is the cold tier's only data client.
      clients: { podSelectors: [hot.podLabels], cidrs: settings.managementSources },
    },
    opts,
  );
  return {
    hot: { endpoint: settings.hotManagementEndpoint, accessKey: hot.rootUser, secretKey: hot.rootPassword },
    hotInClusterEndpoint: hot.endpoint,
    hotPublicEndpoint: settings.hotPublicEndpoint,
    storageReachable: settings.renderYamlTo === undefined,
  };
}

const platform =
  config.target === "external"
    ? externalPlatform(config.external as NonNullable<StackConfig["external"]>)
    : kubernetesPlatform(config.kubernetes as NonNullable<StackConfig["kubernetes"]>);

const buckets = platform.storageReachable
  ? new ArtifactBuckets("buckets", {
      connection: platform.hot,
      uploadsBucket: config.buckets.uploads,
      artifactsBucket: config.buckets.artifacts,
      versioning: config.buckets.versioning,
      ephemeral: config.buckets.ephemeral,
    })
  : undefined;

export const target = config.target;
export const minioEndpoint = platform.hotInClusterEndpoint;
export const minioPublicEndpoint = platform.hotPublicEndpoint;
export const uploadsBucket = buckets?.uploadsBucket ?? config.buckets.uploads;
export const artifactsBucket = buckets?.artifactsBucket ?? config.buckets.artifacts;
export const tierName = config.lifecycle.tierName;

import * as pulumi from "@pulumi/pulumi";
import { BUCKET_NAME_RULE, isValidBucketName } from "../../rules/buckets";
import { type MinioConnection, type MinioConnectionInput, minioClient } from "./minio-connection";

/** Inputs of a {@link Bucket}. */
export interface BucketArgs {
  /** How `pulumi up` reaches MinIO. Changing it (e.g. a credential rotation) never touches the bucket. */
  connection: MinioConnectionInput;
  /** The bucket's name (S3 rules: 3-63 characters, lowercase letters, digits, dots and hyphens). */
  bucket: pulumi.Input<string>;
  /** Keep every version of every object. Default false. */
  versioning?: pulumi.Input<boolean>;
  /** Delete the objects with the bucket on destroy. Default false: a bucket with data refuses to go. */
  forceDestroy?: pulumi.Input<boolean>;
}

interface BucketInputs {
  connection: MinioConnection;
  bucket: string;
  versioning: boolean;
  forceDestroy: boolean;
  /**
   * Always true in inputs; `read` reports false when the bucket has gained a policy, so a refresh
   * shows the drift and the next update removes the policy again.
   */
  private: boolean;
}

/** Why a bucket name is invalid, or undefined when it is valid. */
export function bucketNameProblem(name: string): string | undefined {
  if (!isValidBucketName(name)) {
    return `bucket name "${name}" is invalid: use ${BUCKET_NAME_RULE}`;
  }
  return undefined;
}

/**
 * A private MinIO bucket. Private means: no bucket policy at all, so anonymous requests are refused;
 * creation removes any policy a bucket of that name was given, and `read` reports one as drift.
 */
export const bucketProvider: pulumi.dynamic.ResourceProvider<BucketInputs, BucketInputs> = {
  async check(_olds, news) {
    const problem = bucketNameProblem(news.bucket);
    return {
      inputs: {
        ...news,
        versioning: news.versioning ?? false,
        forceDestroy: news.forceDestroy ?? false,
        private: true,
      },
      failures: problem ? [{ property: "bucket", reason: problem }] : [],
    };
  },

  async diff(_id, olds, news) {
    const replaces = olds.bucket === news.bucket ? [] : ["bucket"];
    const changes =
      replaces.length > 0 ||
      olds.versioning !== news.versioning ||
      olds.forceDestroy !== news.forceDestroy ||
      olds.private !== true;
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const client = minioClient(inputs.connection);
    if (await client.bucketExists(inputs.bucket)) {
      // `pulumi import` cannot import dynamic resources (pulumi/pulumi#16175): no advice to try it.
      throw new Error(
        `bucket "${inputs.bucket}" already exists on ${inputs.connection.endpoint} and this stack did not ` +
          "create it: choose another name, or move its data and remove it",
      );
    }
    await client.makeBucket(inputs.bucket, inputs.connection.region ?? "us-east-1");
    await applySettings(inputs);
    return { id: inputs.bucket, outs: inputs };
  },

  async read(id, props) {
    if (!props) throw new Error(`reading bucket "${id}" needs its connection; import it with the program's inputs`);
    const client = minioClient(props.connection);
    if (!(await client.bucketExists(id))) return {};
    const versioning = await client.getBucketVersioning(id);
    const policy = await client.getBucketPolicy(id).catch((err: { code?: string }) => {
      if (err.code === "NoSuchBucketPolicy") return "";
      throw err;
    });
    const state = { ...props, bucket: id, versioning: versioning?.Status === "Enabled", private: policy === "" };
    return { id, props: state, inputs: state };
  },

  async update(_id, _olds, news) {
    await applySettings(news);
    return { outs: news };
  },

  async delete(id, props) {
    const client = minioClient(props.connection);
    if (!(await client.bucketExists(id))) return;
    if (props.forceDestroy) await emptyBucket(props.connection, id);
    try {
      await client.removeBucket(id);
    } catch (err) {
      if ((err as { code?: string }).code === "BucketNotEmpty") {
        throw new Error(
          `bucket "${id}" still holds objects and forceDestroy is false; empty it first, or set forceDestroy ` +
            "(only for ephemeral stacks)",
        );
      }
      throw err;
    }
  },
};

async function applySettings(inputs: BucketInputs): Promise<void> {
  const client = minioClient(inputs.connection);
  const current = await client.getBucketVersioning(inputs.bucket);
  const enabled = current?.Status === "Enabled";
  if (inputs.versioning !== enabled && (inputs.versioning || current?.Status)) {
    await client.setBucketVersioning(inputs.bucket, { Status: inputs.versioning ? "Enabled" : "Suspended" });
  }
  // No policy is the only private state: an empty policy deletes whatever was there.
  await client.setBucketPolicy(inputs.bucket, "");
}

async function emptyBucket(connection: MinioConnection, bucket: string): Promise<void> {
  const client = minioClient(connection);
  const objects: { name: string; versionId?: string }[] = [];
  for await (const item of client.listObjects(bucket, "", true, { IncludeVersion: true })) {
    if (item.name) objects.push({ name: item.name, versionId: item.versionId ?? undefined });
  }
  for (let i = 0; i < objects.length; i += 1000) await client.removeObjects(bucket, objects.slice(i, i + 1000));
}

/** A private bucket on a MinIO server, through {@link bucketProvider}. */
export class Bucket extends pulumi.dynamic.Resource {
  declare readonly bucket: pulumi.Output<string>;
  declare readonly versioning: pulumi.Output<boolean>;
  /** False only when a refresh found a bucket policy; the next update removes it. */
  declare readonly private: pulumi.Output<boolean>;

  constructor(name: string, args: BucketArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      bucketProvider,
      name,
      {
        connection: args.connection,
        bucket: args.bucket,
        versioning: args.versioning,
        forceDestroy: args.forceDestroy,
        private: true,
      },
      // The connection carries a secret key: keep it encrypted in state whatever the caller passed.
      { ...opts, additionalSecretOutputs: ["connection"] },
      "storage",
      "Bucket",
    );
  }
}

import * as pulumi from "@pulumi/pulumi";
import type * as Minio from "minio";
import { BUCKET_NAME_RULE, isValidBucketName } from "../../rules/buckets";
import { describeOwner, OWNER_TAG } from "../../rules/ownership";
import { emptyBucket, remainingContents } from "./bucket-contents";
import {
  connectionChanged,
  defaultOwner,
  type MinioConnection,
  type MinioConnectionInput,
  minioClient,
  withStateConnection,
} from "./minio-connection";

/** Inputs of a {@link Bucket}. */
export interface BucketArgs {
  /**
   * How `pulumi up` reaches MinIO. A change (e.g. a credential rotation) is an update that only
   * records it: refresh and destroy then use the new connection.
   */
  connection: MinioConnectionInput;
  /** The bucket's name (S3 rules: 3-63 characters, lowercase letters, digits, dots and hyphens). */
  bucket: pulumi.Input<string>;
  /** Keep every version of every object. Default false. */
  versioning?: pulumi.Input<boolean>;
  /**
   * Delete the bucket with everything in it on destroy: every version, delete marker, incomplete
   * upload, and the copies of transitioned objects on the tier. Default false: a bucket with data
   * refuses to go.
   */
  forceDestroy?: pulumi.Input<boolean>;
  /**
   * Take over a bucket of this name that exists and is not this stack's, with its data. Default
   * false: such a bucket is refused. A bucket this stack created (then retained, or left behind by an
   * interrupted run) carries the stack's ownership tag and is taken back without this.
   */
  adoptExisting?: pulumi.Input<boolean>;
  /** The stack the bucket belongs to, written as its ownership tag. Default `<project>/<stack>`. */
  owner?: pulumi.Input<string>;
}

interface BucketInputs {
  connection: MinioConnection;
  bucket: string;
  versioning: boolean;
  forceDestroy: boolean;
  adoptExisting: boolean;
  owner: string;
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

/** The bucket's ownership tag, or undefined when it has none. */
async function ownerOf(client: Minio.Client, bucket: string): Promise<string | undefined> {
  const tags = await bucketTags(client, bucket);
  return tags[OWNER_TAG];
}

async function bucketTags(client: Minio.Client, bucket: string): Promise<Record<string, string>> {
  try {
    const tags = await client.getBucketTagging(bucket);
    return Object.fromEntries(tags.map((t) => [t.Key, t.Value]));
  } catch (err) {
    if ((err as { code?: string }).code === "NoSuchTagSet") return {};
    throw err;
  }
}

/**
 * A private MinIO bucket. Private means: no bucket policy at all, so anonymous requests are refused;
 * creation removes any policy a bucket of that name was given, and `read` reports one as drift.
 * Ownership: the bucket carries its stack's tag ({@link OWNER_TAG}); a bucket of that name that is
 * not the stack's is refused unless `adoptExisting` says to take it.
 */
export const bucketProvider: pulumi.dynamic.ResourceProvider<BucketInputs, BucketInputs> = {
  async check(_olds, news) {
    const problem = bucketNameProblem(news.bucket);
    return {
      inputs: {
        ...news,
        versioning: news.versioning ?? false,
        forceDestroy: news.forceDestroy ?? false,
        adoptExisting: news.adoptExisting ?? false,
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
      (olds.adoptExisting ?? false) !== news.adoptExisting ||
      olds.owner !== news.owner ||
      olds.private !== true ||
      connectionChanged(olds.connection, news.connection);
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const client = minioClient(inputs.connection);
    if (await client.bucketExists(inputs.bucket)) {
      // Ours (retained by an earlier destroy, or made by a run that was interrupted) converges;
      // anything else only when adoption is asked for. `pulumi import` cannot import dynamic
      // resources (pulumi/pulumi#16175), so no advice to try it.
      const owner = await ownerOf(client, inputs.bucket);
      if (owner !== inputs.owner && !inputs.adoptExisting) {
        throw new Error(
          `bucket "${inputs.bucket}" already exists on ${inputs.connection.endpoint} and is not this stack's ` +
            `(${describeOwner(owner)}): set adoptExisting to take it over with its data, or choose another name`,
        );
      }
    } else {
      await client.makeBucket(inputs.bucket, inputs.connection.region ?? "us-east-1");
    }
    // The tag goes first, so a run interrupted after this point leaves a bucket the next `up` knows.
    await applySettings(inputs);
    return { id: inputs.bucket, outs: inputs };
  },

  async read(id, props) {
    if (!props) throw new Error(`reading bucket "${id}" needs its connection; import it with the program's inputs`);
    return withStateConnection(props.connection, `reading bucket "${id}"`, async () => {
      const client = minioClient(props.connection);
      if (!(await client.bucketExists(id))) return {};
      const versioning = await client.getBucketVersioning(id);
      const policy = await client.getBucketPolicy(id).catch((err: { code?: string }) => {
        if (err.code === "NoSuchBucketPolicy") return "";
        throw err;
      });
      const state: BucketInputs = {
        ...props,
        bucket: id,
        versioning: versioning?.Status === "Enabled",
        owner: (await ownerOf(client, id)) ?? "",
        private: policy === "",
      };
      // Inputs as found, so `preview --refresh` shows exactly which setting drifted.
      return { id, props: state, inputs: state };
    });
  },

  async update(_id, _olds, news) {
    await applySettings(news);
    return { outs: news };
  },

  async delete(id, props) {
    await withStateConnection(props.connection, `deleting bucket "${id}"`, async () => {
      const client = minioClient(props.connection);
      if (!(await client.bucketExists(id))) return;
      const owner = await ownerOf(client, id);
      if (owner && props.owner && owner !== props.owner) {
        throw new Error(`bucket "${id}" is now ${describeOwner(owner)}, not this stack's: it is left as it is`);
      }
      if (props.forceDestroy) await emptyBucket(props.connection, id);
      try {
        await client.removeBucket(id);
      } catch (err) {
        if ((err as { code?: string }).code !== "BucketNotEmpty") throw err;
        const found = await remainingContents(props.connection, id);
        throw new Error(
          props.forceDestroy
            ? `bucket "${id}" could not be emptied: it still holds ${found}`
            : `bucket "${id}" holds ${found} and forceDestroy is false: empty it first, or set forceDestroy ` +
                "(only for ephemeral stacks)",
        );
      }
    });
  },
};

/** Brings the bucket to its inputs: ownership tag first (kept beside any other tags), versioning, no policy. */
async function applySettings(inputs: BucketInputs): Promise<void> {
  const client = minioClient(inputs.connection);
  const tags = await bucketTags(client, inputs.bucket);
  if (tags[OWNER_TAG] !== inputs.owner) {
    await client.setBucketTagging(inputs.bucket, { ...tags, [OWNER_TAG]: inputs.owner });
  }
  const current = await client.getBucketVersioning(inputs.bucket);
  const enabled = current?.Status === "Enabled";
  if (inputs.versioning !== enabled && (inputs.versioning || current?.Status)) {
    await client.setBucketVersioning(inputs.bucket, { Status: inputs.versioning ? "Enabled" : "Suspended" });
  }
  // No policy is the only private state: an empty policy deletes whatever was there.
  await client.setBucketPolicy(inputs.bucket, "");
}

/** A private bucket on a MinIO server, through {@link bucketProvider}. */
export class Bucket extends pulumi.dynamic.Resource {
  declare readonly bucket: pulumi.Output<string>;
  declare readonly versioning: pulumi.Output<boolean>;
  /** False only when a refresh found a bucket policy; the next update removes it. */
  declare readonly private: pulumi.Output<boolean>;
  declare readonly owner: pulumi.Output<string>;

  constructor(name: string, args: BucketArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      bucketProvider,
      name,
      {
        connection: args.connection,
        bucket: args.bucket,
        versioning: args.versioning,
        forceDestroy: args.forceDestroy,
        adoptExisting: args.adoptExisting,
        owner: args.owner ?? defaultOwner(),
        private: true,
      },
      // The connection carries a secret key: keep it encrypted in state whatever the caller passed.
      { ...opts, additionalSecretOutputs: ["connection"] },
      "storage",
      "Bucket",
    );
  }
}

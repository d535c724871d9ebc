import * as pulumi from "@pulumi/pulumi";
import { Bucket } from "./providers/bucket";
import { BucketLifecycle } from "./providers/bucket-lifecycle";
import { GeneratedSecret } from "./providers/generated-secret";
import type { MinioConnectionInput } from "./providers/minio-connection";
import { ScopedUser } from "./providers/scoped-user";
import { MinioTier } from "./providers/tier";

/** The cold side: a second MinIO we administer (the default), or an S3 endpoint we are given. */
export type ColdStorage =
  | {
      kind: "minio";
      /** How `pulumi up` reaches the cold MinIO, as an administrator. */
      connection: MinioConnectionInput;
      /** The cold MinIO as the hot one reaches it (the tier's endpoint). */
      endpointFromHot: pulumi.Input<string>;
      /** Bucket on the cold MinIO that receives the objects. Default `cold-tier`. */
      bucket?: string;
    }
  | {
      kind: "s3";
      endpoint: pulumi.Input<string>;
      bucket: pulumi.Input<string>;
      region?: pulumi.Input<string>;
      /** Credentials scoped to that bucket (secret). */
      accessKey: pulumi.Input<string>;
      secretKey: pulumi.Input<string>;
    };

/** One bucket's lifecycle: large objects older than `transitionDays` move to the tier. */
export interface TransitionRule {
  /** Short name for the resource (e.g. `uploads`). */
  name: string;
  bucket: pulumi.Input<string>;
  /** Default 30. */
  transitionDays?: number;
  /** Only objects above this size move. Default 0 (any size). */
  minObjectSizeBytes?: number;
  /** Only keys under this prefix. Default: every key. */
  prefix?: string;
}

export interface ColdTierArgs {
  /** How `pulumi up` reaches the hot MinIO's admin API. */
  hot: MinioConnectionInput;
  cold: ColdStorage;
  /** The tier's name, also the storage class objects get. Default `COLD`. */
  tierName?: string;
  rules: TransitionRule[];
  /** A throwaway stack: destroy removes the tier even when it holds objects, and the cold bucket with them. */
  ephemeral?: boolean;
  /** Take over a cold bucket, tier user and tier of these names that exist and are not this stack's. Default false. */
  adoptExisting?: boolean;
}

/** Exactly what a MinIO tier does on its remote bucket: write, read, delete, list (and its probe object). */
export function tierUserPolicy(bucket: string): object {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
        Resource: [`arn:aws:s3:::${bucket}`],
      },
      {
        Effect: "Allow",
        Action: [
          "s3:PutObject",
          "s3:GetObject",
          "s3:DeleteObject",
          "s3:AbortMultipartUpload",
          "s3:ListMultipartUploadParts",
        ],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
    ],
  };
}

/**
 * The cold tier: on the cold side a bucket and a user scoped to it (the hot cluster never holds the
 * cold root credentials); on the hot side the remote tier, then one lifecycle document per bucket
 * that moves large, old objects to it. Lifecycles depend on the tier, so create and destroy run in
 * the right order.
 */
export class ColdTier extends pulumi.ComponentResource {
  readonly tierName: pulumi.Output<string>;
  /** The tier resource: the hot buckets whose objects move to it are deleted before it. */
  readonly tier: MinioTier;

  constructor(name: string, args: ColdTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super("workflow-studio-storage:storage:ColdTier", name, {}, opts);
    const child = { parent: this };
    const ephemeral = args.ephemeral ?? false;
    const adoptExisting = args.adoptExisting ?? false;

    let remote: {
      type: "minio" | "s3";
      endpoint: pulumi.Input<string>;
      bucket: pulumi.Input<string>;
      region?: pulumi.Input<string>;
      accessKey: pulumi.Input<string>;
      secretKey: pulumi.Input<string>;
      dependsOn: pulumi.Resource[];
    };
    if (args.cold.kind === "minio") {
      const cold = args.cold;
      const bucketName = cold.bucket ?? "cold-tier";
      const bucket = new Bucket(
        `${name}-bucket`,
        { connection: cold.connection, bucket: bucketName, forceDestroy: ephemeral, adoptExisting },
        { ...child, retainOnDelete: !ephemeral },
      );
      const secretKey = new GeneratedSecret(`${name}-user-secret-key`, { length: 40 }, child).value;
      const user = new ScopedUser(
        `${name}-user`,
        {
          connection: cold.connection,
          accessKey: `tier-${bucketName}`.slice(0, 20),
          secretKey,
          policyName: `tier-${bucketName}`,
          policy: tierUserPolicy(bucketName),
          adoptExisting,
        },
        { ...child, dependsOn: [bucket] },
      );
      remote = {
        type: "minio",
        endpoint: cold.endpointFromHot,
        bucket: bucket.bucket,
        accessKey: user.accessKey,
        secretKey,
        dependsOn: [user],
      };
    } else {
      remote = { type: "s3", ...args.cold, dependsOn: [] };
    }

    const tier = new MinioTier(
      `${name}-tier`,
      {
        connection: args.hot,
        name: args.tierName ?? "COLD",
        type: remote.type,
        endpoint: remote.endpoint,
        bucket: remote.bucket,
        region: remote.region,
        credentials: { accessKey: remote.accessKey, secretKey: remote.secretKey },
        forceDelete: ephemeral,
        adoptExisting,
      },
      // Adding a tier probes the remote with these credentials: they must exist first.
      { ...child, dependsOn: remote.dependsOn },
    );

    for (const rule of args.rules) {
      new BucketLifecycle(
        `${name}-lifecycle-${rule.name}`,
        {
          connection: args.hot,
          bucket: rule.bucket,
          tier,
          transitionDays: rule.transitionDays ?? 30,
          minObjectSizeBytes: rule.minObjectSizeBytes ?? 0,
          prefix: rule.prefix ?? "",
        },
        child,
      );
    }

    this.tier = tier;
    this.tierName = tier.name;
    this.registerOutputs({ tierName: this.tierName });
  }
}

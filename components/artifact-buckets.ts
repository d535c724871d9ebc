import * as pulumi from "@pulumi/pulumi";
import { Bucket } from "./providers/bucket";
import type { MinioConnectionInput } from "./providers/minio-connection";

export interface ArtifactBucketsArgs {
  /** How `pulumi up` reaches the hot MinIO, as an administrator. */
  connection: MinioConnectionInput;
  /** Bucket for user uploads. Default `user-uploads`. */
  uploadsBucket?: string;
  /** Bucket for workflow execution artifacts. Default `workflow-artifacts`. */
  artifactsBucket?: string;
  /** Keep every version of every object. Default false. */
  versioning?: boolean;
  /**
   * A throwaway stack (CI, previews): destroy deletes the buckets with their objects. Default false:
   * destroy leaves the buckets and their data in MinIO (retainOnDelete) and never force-deletes.
   */
  ephemeral?: boolean;
  /** Take over buckets of these names that exist and are not this stack's, with their data. Default false. */
  adoptExisting?: boolean;
  /**
   * Resources the buckets come after, and so are deleted before: the cold tier. Deleting an object
   * that moved to the tier makes MinIO delete its copy there, which it can only do while the tier
   * exists. May be a promise, since the tier's lifecycle rules in turn need the buckets. Default none.
   */
  after?: pulumi.Input<pulumi.Resource[]>;
}

/**
 * The two private data buckets. Private means no bucket policy at all: anonymous requests are
 * refused and downloads go through presigned URLs only.
 */
export class ArtifactBuckets extends pulumi.ComponentResource {
  readonly uploadsBucket: pulumi.Output<string>;
  readonly artifactsBucket: pulumi.Output<string>;

  constructor(name: string, args: ArtifactBucketsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("workflow-studio-storage:storage:ArtifactBuckets", name, {}, opts);
    const ephemeral = args.ephemeral ?? false;
    const bucket = (suffix: string, bucketName: string) =>
      new Bucket(
        `${name}-${suffix}`,
        {
          connection: args.connection,
          bucket: bucketName,
          versioning: args.versioning ?? false,
          forceDestroy: ephemeral,
          adoptExisting: args.adoptExisting ?? false,
        },
        { parent: this, retainOnDelete: !ephemeral, dependsOn: args.after },
      );
    const uploads = bucket("uploads", args.uploadsBucket ?? "user-uploads");
    const artifacts = bucket("artifacts", args.artifactsBucket ?? "workflow-artifacts");
    this.uploadsBucket = uploads.bucket;
    this.artifactsBucket = artifacts.bucket;
    this.registerOutputs({ uploadsBucket: this.uploadsBucket, artifactsBucket: this.artifactsBucket });
  }
}

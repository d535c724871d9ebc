import * as pulumi from "@pulumi/pulumi";
import { apiAccessPolicy } from "./api-access-policy";
import { GeneratedSecret } from "./providers/generated-secret";
import type { MinioConnectionInput } from "./providers/minio-connection";
import { ScopedUser } from "./providers/scoped-user";

export interface ApiAccessArgs {
  /**
   * How `pulumi up` reaches the hot MinIO as an administrator. Absent when the stack only renders
   * manifests: the credentials are then generated but not registered in MinIO.
   */
  connection?: MinioConnectionInput;
  uploadsBucket: pulumi.Input<string>;
  artifactsBucket: pulumi.Input<string>;
  /** The user's access key. Default `upload-api`. */
  accessKey?: string;
  /** Take over a user of that name that exists and is not this stack's (its key is reset). Default false. */
  adoptExisting?: boolean;
}

/**
 * The API's own MinIO identity: a user whose only policy allows exactly what the API does (see
 * api-access-policy.ts), with a generated secret key. Credentials are secret outputs.
 */
export class ApiAccess extends pulumi.ComponentResource {
  readonly accessKey: pulumi.Output<string>;
  readonly secretKey: pulumi.Output<string>;

  constructor(name: string, args: ApiAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("workflow-studio-storage:storage:ApiAccess", name, {}, opts);
    const accessKey = args.accessKey ?? "upload-api";
    const secretKey = new GeneratedSecret(`${name}-secret-key`, { length: 40 }, { parent: this }).value;
    if (args.connection) {
      new ScopedUser(
        `${name}-user`,
        {
          connection: args.connection,
          accessKey,
          secretKey,
          policyName: accessKey,
          policy: pulumi
            .all([args.uploadsBucket, args.artifactsBucket])
            .apply(([uploadsBucket, artifactsBucket]) => apiAccessPolicy({ uploadsBucket, artifactsBucket })),
          adoptExisting: args.adoptExisting ?? false,
        },
        { parent: this },
      );
    }
    this.accessKey = pulumi.output(accessKey);
    this.secretKey = pulumi.secret(secretKey);
    this.registerOutputs({ accessKey: this.accessKey, secretKey: this.secretKey });
  }
}

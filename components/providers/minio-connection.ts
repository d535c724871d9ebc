import type * as pulumi from "@pulumi/pulumi";
import * as Minio from "minio";
import { DEFAULT_REGION } from "../../rules/api-settings";
import { minioClientOptions } from "../../rules/minio-client";

/**
 * Where and as whom a provider reaches a MinIO server's S3 and admin APIs. The endpoint is a URL
 * as seen from where `pulumi up` runs (the management endpoint), e.g. `http://127.0.0.1:19000`.
 */
export interface MinioConnection {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** Signing region. Default `us-east-1`, MinIO's default; set it so no call asks the server for it. */
  region?: string;
}

/** A connection as a component or resource takes it: any field may be an Output (secrets usually are). */
export type MinioConnectionInput = pulumi.Input<{ [K in keyof MinioConnection]: pulumi.Input<MinioConnection[K]> }>;

/** A `minio` client for a connection. Kept here so every provider parses endpoints the same way. */
export function minioClient(connection: MinioConnection): Minio.Client {
  return new Minio.Client(minioClientOptions(connection.endpoint, connection, connection.region ?? DEFAULT_REGION));
}

import * as pulumi from "@pulumi/pulumi";
import * as Minio from "minio";
import { DEFAULT_REGION } from "../../rules/api-settings";
import { minioClientOptions } from "../../rules/minio-client";
import { stackOwner } from "../../rules/ownership";
import { isKnown } from "./dynamic-values";

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

const connectionFields = ["endpoint", "accessKey", "secretKey", "region"] as const;

/**
 * True when a resource's connection changed (or is not known yet). Every provider makes that an
 * update: the state then holds the current connection, which is what `read` and `delete` get, so
 * after a credential rotation `pulumi up` is all it takes for refresh and destroy to work again.
 */
export function connectionChanged(olds: MinioConnection | undefined, news: MinioConnection): boolean {
  if (!isKnown(news)) return true;
  return !olds || connectionFields.some((field) => (olds[field] ?? "") !== (news[field] ?? ""));
}

/** MinIO's answers to credentials it does not accept (S3 API and admin API). */
const refusedCredentials = ["SignatureDoesNotMatch", "InvalidAccessKeyId", "XMinioAdminInvalidAccessKey"];

/**
 * Runs a read or delete with the connection the state holds. When MinIO refuses its credentials, the
 * error says why that happens (a rotation not yet applied) and what to do, instead of a bare
 * signature error.
 */
export async function withStateConnection<T>(
  connection: MinioConnection,
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    if (!refusedCredentials.includes(code)) throw err;
    throw new Error(
      `${what}: MinIO at ${connection.endpoint} refused the credentials this stack's state holds (${code}). ` +
        "If they were rotated, run `pulumi up` (without --refresh) first: it records the new credentials, " +
        "then refresh and destroy use them",
    );
  }
}

/** The owner a resource marks what it creates with, by default: this program's project and stack. */
export function defaultOwner(): string {
  return stackOwner(pulumi.getProject(), pulumi.getStack());
}

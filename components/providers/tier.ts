import { pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { retryWhile } from "../../rules/retry";
import { bucketNameProblem } from "./bucket";
import { isKnown } from "./dynamic-values";
import {
  addTier,
  editTierCredentials,
  isMinioAdminError,
  listTiers,
  removeTier,
  type TierInfo,
  type TierSpec,
  type TierType,
  tierNameProblem,
  verifyTier,
} from "./minio-admin";
import {
  connectionChanged,
  type MinioConnection,
  type MinioConnectionInput,
  withStateConnection,
} from "./minio-connection";

/** Credentials of the remote (cold) storage a tier writes to. */
export interface TierCredentials {
  accessKey: string;
  secretKey: string;
}

/** Inputs of a {@link MinioTier}. */
export interface MinioTierArgs {
  /** The hot MinIO server, as `pulumi up` reaches it (its admin API gets the tier). */
  connection: MinioConnectionInput;
  /** The tier's name and storage class; uppercased. STANDARD and REDUCED_REDUNDANCY are reserved. */
  name: pulumi.Input<string>;
  /** `minio` (another MinIO) or `s3` (any S3 API). */
  type: pulumi.Input<TierType>;
  /** The remote's URL as seen **from the hot MinIO server**, not from where `pulumi up` runs. */
  endpoint: pulumi.Input<string>;
  bucket: pulumi.Input<string>;
  /** Objects go under this prefix in the remote bucket. Default "". */
  prefix?: pulumi.Input<string>;
  region?: pulumi.Input<string>;
  /** S3 only: the storage class objects get on the remote. */
  storageClass?: pulumi.Input<string>;
  /** Always kept secret; a change is applied in place (the edit endpoint). */
  credentials: pulumi.Input<{ accessKey: pulumi.Input<string>; secretKey: pulumi.Input<string> }>;
  /** Remove the tier on destroy even when its remote still holds objects. They become unreadable. */
  forceDelete?: pulumi.Input<boolean>;
  /**
   * Take over a tier of this name that already exists (same type, endpoint, bucket, prefix, region)
   * instead of failing: how to bring an existing tier under Pulumi, since `pulumi import` cannot
   * import dynamic resources (pulumi/pulumi#16175). Its credentials are replaced by ours.
   */
  adoptExisting?: pulumi.Input<boolean>;
}

interface TierInputs {
  connection: MinioConnection;
  name: string;
  type: TierType;
  endpoint: string;
  bucket: string;
  prefix: string;
  region: string;
  storageClass?: string;
  credentials: TierCredentials;
  forceDelete: boolean;
  adoptExisting: boolean;
}
/** The state: everything but the credentials, which are kept only as a salted hash. */
interface TierOutputs extends Omit<TierInputs, "credentials"> {
  accessKey: string;
  credentialsHash: string;
}

const hashIterations = 10_000;

/**
 * A salted PBKDF2 hash of the credentials. MinIO lists the secret as "REDACTED", so this is what
 * tells a real rotation from no change; salted and slow so state never gives the secret away.
 */
export function hashCredentials(creds: TierCredentials, salt = randomBytes(16)): string {
  const hash = pbkdf2Sync(`${creds.accessKey}\n${creds.secretKey}`, salt, hashIterations, 32, "sha256");
  return `pbkdf2-sha256:${hashIterations}:${salt.toString("base64")}:${hash.toString("base64")}`;
}

export function credentialsMatch(creds: TierCredentials, stored: string | undefined): boolean {
  const [scheme, , salt, hash] = (stored ?? "").split(":");
  if (scheme !== "pbkdf2-sha256" || !salt || !hash) return false;
  const expected = Buffer.from(hashCredentials(creds, Buffer.from(salt, "base64")).split(":")[3] as string, "base64");
  const actual = Buffer.from(hash, "base64");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Fields whose change makes a different tier: MinIO can only edit a tier's credentials. */
const replacingFields = ["name", "type", "endpoint", "bucket", "prefix", "region", "storageClass"] as const;

const specOf = (i: TierInputs): TierSpec => ({
  name: i.name,
  type: i.type,
  endpoint: i.endpoint,
  bucket: i.bucket,
  prefix: i.prefix,
  region: i.region,
  storageClass: i.storageClass,
  accessKey: i.credentials.accessKey,
  secretKey: i.credentials.secretKey,
});

const outputsOf = (i: TierInputs): TierOutputs => {
  const { credentials, ...rest } = i;
  return { ...rest, accessKey: credentials.accessKey, credentialsHash: hashCredentials(credentials) };
};

/** The fields MinIO lists that differ between a listed tier and ours (never the secret). */
function configDifferences(listed: TierInfo, wanted: TierInputs): string[] {
  return replacingFields.filter((f) => (listed[f] ?? "") !== (wanted[f] ?? ""));
}

/** How long a forced removal first waits for MinIO to delete the tier's remote copies itself. */
const drainWaitMs = 30_000;

/**
 * Removes a tier that may still hold objects. When the buckets that used it were just emptied (an
 * ephemeral destroy), MinIO is still deleting their copies on the remote, from a journal that needs
 * the tier: removing it at once would orphan them. So try the plain removal (refused while the
 * remote is not empty) for a while, and force only after that.
 */
async function removeWhenDrained(connection: MinioConnection, name: string): Promise<void> {
  const notEmpty = (err: unknown) => isMinioAdminError(err, "XMinioAdminTierBackendNotEmpty");
  try {
    await retryWhile(() => removeTier(connection, name), { passes: notEmpty, forMs: drainWaitMs, everyMs: 500 });
  } catch (err) {
    if (!notEmpty(err)) throw err;
    await removeTier(connection, name, { force: true });
  }
}

/** How many times create goes round list → add/edit before it gives up on a tier that comes and goes. */
const createPasses = 10;

/**
 * Makes the tier exist, saved, with our credentials. A distributed MinIO adds a tier to the answering
 * node's memory before it saves the config: when the save fails (no write quorum yet, as on a cluster
 * still starting), the add is answered with an error and retried, and the retry is told the tier
 * already exists, although no other node and no disk holds it. So "already exists" sends us round
 * again: a node that lists it as ours gets the credentials edit, which saves its whole config (the
 * tier with it); a node that does not know it gets the add.
 */
async function ensureTier(inputs: TierInputs): Promise<void> {
  for (let pass = 1; ; pass++) {
    try {
      return await addOrTakeOver(inputs);
    } catch (err) {
      const cameAndWent =
        isMinioAdminError(err, "XMinioAdminTierAlreadyExists") || isMinioAdminError(err, "XMinioAdminTierNotFound");
      if (!cameAndWent || pass >= createPasses) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function addOrTakeOver(inputs: TierInputs): Promise<void> {
  const existing = (await listTiers(inputs.connection)).find((t) => t.name === inputs.name);
  if (!existing) return addTier(inputs.connection, specOf(inputs));
  // A tier with our remote and our access key is ours (a run was interrupted after adding it):
  // MinIO tiers carry no tags, and the access key is the scoped user this stack made for it.
  const ours = existing.accessKey === inputs.credentials.accessKey;
  if (!inputs.adoptExisting && !ours) {
    throw new Error(
      `tier "${inputs.name}" already exists on ${inputs.connection.endpoint}; set adoptExisting: true to take ` +
        "it over (pulumi import cannot import dynamic resources), or choose another name",
    );
  }
  const differences = configDifferences(existing, inputs);
  if (differences.length > 0) {
    throw new Error(
      `tier "${inputs.name}" exists on ${inputs.connection.endpoint} but differs in ${differences.join(", ")}; ` +
        "adopting it would change what it is: remove it or match its settings",
    );
  }
  // Our credentials replace whatever it had, so the state's hash is true.
  await editTierCredentials(inputs.connection, inputs.name, inputs.credentials);
}

export const tierProvider: pulumi.dynamic.ResourceProvider<TierInputs, TierOutputs> = {
  async check(_olds, news) {
    const inputs: TierInputs = {
      ...news,
      name: isKnown(news.name) && typeof news.name === "string" ? news.name.toUpperCase() : news.name,
      prefix: news.prefix ?? "",
      region: news.region ?? "",
      forceDelete: news.forceDelete ?? false,
      adoptExisting: news.adoptExisting ?? false,
    };
    const failures: { property: string; reason: string }[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const known = (v: unknown) => v !== undefined && isKnown(v);
    if (known(inputs.name)) {
      const problem = tierNameProblem(inputs.name);
      if (problem) fail("name", problem);
    }
    if (known(inputs.type) && inputs.type !== "minio" && inputs.type !== "s3") {
      fail("type", `tier "${inputs.name}": type must be "minio" or "s3", got "${inputs.type}"`);
    }
    if (known(inputs.endpoint) && !/^https?:\/\/[^/\s]+\/?$/.test(String(inputs.endpoint))) {
      fail("endpoint", `tier "${inputs.name}": endpoint must be a URL like http://host:9000, got "${inputs.endpoint}"`);
    }
    if (known(inputs.bucket)) {
      const problem = bucketNameProblem(inputs.bucket);
      if (problem) fail("bucket", `tier "${inputs.name}": remote ${problem}`);
    }
    if (inputs.storageClass !== undefined && inputs.type === "minio") {
      fail("storageClass", `tier "${inputs.name}": storageClass applies only to type "s3"`);
    }
    // Never echo the credentials, only whether they are there.
    const c = inputs.credentials as Partial<TierCredentials> | undefined;
    if (known(c) && (!c?.accessKey || !c?.secretKey)) {
      fail("credentials", `tier "${inputs.name}": credentials need a non-empty accessKey and secretKey`);
    }
    return { inputs, failures };
  },

  async diff(_id, olds, news) {
    const replaces = replacingFields.filter((f) => (olds[f] ?? "") !== (news[f] ?? ""));
    const rotated = !isKnown(news.credentials) || !credentialsMatch(news.credentials, olds.credentialsHash);
    const changes =
      replaces.length > 0 ||
      rotated ||
      olds.forceDelete !== news.forceDelete ||
      olds.adoptExisting !== news.adoptExisting ||
      connectionChanged(olds.connection, news.connection);
    // Two tiers cannot share a name: the old one goes first.
    return { changes, replaces: [...replaces], deleteBeforeReplace: true };
  },

  async create(inputs) {
    await ensureTier(inputs);
    return { id: inputs.name, outs: outputsOf(inputs) };
  },

  async read(id, props) {
    if (!props) throw new Error(`reading tier "${id}" needs its connection`);
    return withStateConnection(props.connection, `reading tier "${id}"`, async () => {
      const listed = (await listTiers(props.connection)).find((t) => t.name === id);
      if (!listed) return {};
      let credentialsHash = props.credentialsHash;
      try {
        await verifyTier(props.connection, id);
      } catch (err) {
        if (!isMinioAdminError(err)) throw err;
        // The remote refuses the stored credentials: forget their hash so the next update pushes ours.
        credentialsHash = "";
      }
      if (listed.accessKey !== props.accessKey) credentialsHash = "";
      // What MinIO lists wins: a remote changed outside Pulumi then shows as a replacement.
      const { accessKey, ...config } = listed;
      const state = { ...props, ...config, accessKey, prefix: listed.prefix ?? "", region: listed.region ?? "" };
      if (credentialsHash) return { id, props: { ...state, credentialsHash } };
      // Credentials changed outside Pulumi: inputs as found (the secret is not readable, only that it
      // is not ours), so `preview --refresh` shows the credentials as the change.
      const { credentialsHash: _, accessKey: __, ...found } = state;
      const inputs: TierInputs = { ...found, credentials: { accessKey, secretKey: "(changed outside Pulumi)" } };
      // The SDK types a read's inputs as outputs; the engine takes them as the resource's inputs.
      return { id, props: { ...state, credentialsHash }, inputs: inputs as unknown as TierOutputs };
    });
  },

  async update(_id, olds, news) {
    if (!credentialsMatch(news.credentials, olds.credentialsHash)) {
      await editTierCredentials(news.connection, news.name, news.credentials);
    }
    return { outs: outputsOf(news) };
  },

  async delete(id, props) {
    await withStateConnection(props.connection, `deleting tier "${id}"`, async () => {
      try {
        if (props.forceDelete) await removeWhenDrained(props.connection, id);
        else await removeTier(props.connection, id);
      } catch (err) {
        if (isMinioAdminError(err, "XMinioAdminTierBackendNotEmpty")) {
          throw new Error(
            `tier "${id}" still holds objects in bucket "${props.bucket}" on ${props.endpoint}: removing it would ` +
              "make them unreadable. Move them back or delete them first, or set forceDelete: true on the tier",
          );
        }
        throw err;
      }
    });
  },
};

/**
 * A remote tier of a MinIO server: lifecycle rules move objects to it by naming it as storage class.
 * `@pulumi/minio` has no such resource, hence this dynamic one.
 */
export class MinioTier extends pulumi.dynamic.Resource {
  /** The tier's name (uppercase): the storage class of lifecycle transitions. */
  declare readonly name: pulumi.Output<string>;
  declare readonly type: pulumi.Output<TierType>;
  declare readonly endpoint: pulumi.Output<string>;
  declare readonly bucket: pulumi.Output<string>;
  declare readonly prefix: pulumi.Output<string>;
  declare readonly accessKey: pulumi.Output<string>;

  constructor(name: string, args: MinioTierArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      tierProvider,
      name,
      {
        connection: args.connection,
        name: args.name,
        type: args.type,
        endpoint: args.endpoint,
        bucket: args.bucket,
        prefix: args.prefix,
        region: args.region,
        storageClass: args.storageClass,
        // Secret whatever the caller passed: it is kept in the state's inputs, encrypted.
        credentials: pulumi.secret(args.credentials),
        forceDelete: args.forceDelete,
        adoptExisting: args.adoptExisting,
        accessKey: undefined,
        credentialsHash: undefined,
      },
      { ...opts, additionalSecretOutputs: ["connection", "credentialsHash"] },
      "storage",
      "MinioTier",
    );
  }
}

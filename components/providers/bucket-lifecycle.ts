import * as pulumi from "@pulumi/pulumi";
import type * as Minio from "minio";
import { retryWhile } from "../../rules/retry";
import { bucketNameProblem } from "./bucket";
import { isKnown } from "./dynamic-values";
import {
  buildDocument,
  documentsEqual,
  type LifecycleSettings,
  type NormalDocument,
  normaliseDocument,
  settingsProblems,
  toMinioLifecycle,
  transitionRuleId,
} from "./lifecycle-document";
import { listTiers, tierNameProblem } from "./minio-admin";
import {
  connectionChanged,
  type MinioConnection,
  type MinioConnectionInput,
  minioClient,
  withStateConnection,
} from "./minio-connection";
import type { MinioTier } from "./tier";

/** Inputs of a {@link BucketLifecycle}. */
export interface BucketLifecycleArgs {
  /** The hot MinIO server, as `pulumi up` reaches it. */
  connection: MinioConnectionInput;
  bucket: pulumi.Input<string>;
  /** The tier objects move to: a MinioTier (preferred: orders create and destroy), or a tier's name. */
  tier: MinioTier | pulumi.Input<string>;
  /** Days before an object moves to the tier. Default 30; 0 moves it at upload. */
  transitionDays?: pulumi.Input<number>;
  /** Only keys under this prefix. Default "" (every key). */
  prefix?: pulumi.Input<string>;
  /** Only objects larger than this many bytes move (the "large artifacts" threshold). Default 0: any size. */
  minObjectSizeBytes?: pulumi.Input<number>;
  /** Delete objects under the prefix after this many days. Default: never. */
  expirationDays?: pulumi.Input<number>;
  /** Move noncurrent versions to the tier after this many days. Default: never. */
  noncurrentTransitionDays?: pulumi.Input<number>;
  /** Delete noncurrent versions after this many days. Default: never. */
  noncurrentExpirationDays?: pulumi.Input<number>;
}

interface LifecycleInputs extends LifecycleSettings {
  connection: MinioConnection;
}
interface LifecycleOutputs extends LifecycleInputs {
  /** The document as last written or read back, normalised: what `diff` compares. */
  rules: NormalDocument;
}
/**
 * What `check` returns: the settings and, once they are all known, the document they make. `rules`
 * is an input too so that a refresh that finds another document (read returns it as the inputs)
 * shows in `preview --refresh` as exactly the rules that differ.
 */
type CheckedInputs = LifecycleInputs & {
  rules?: NormalDocument;
  /**
   * The tier is a MinioTier of the same program: it is made before the rule (the dependency), and in a
   * preview it may not exist yet although its name is known, so check does not look it up.
   */
  tierFromResource?: boolean;
};

/** The bucket's lifecycle document, normalised; [] when it has none. */
export async function readLifecycle(client: Minio.Client, bucket: string): Promise<NormalDocument> {
  try {
    return normaliseDocument(await client.getBucketLifecycle(bucket));
  } catch (err) {
    if ((err as { code?: string }).code === "NoSuchLifecycleConfiguration") return [];
    throw err;
  }
}

/**
 * How long a write waits for a tier the answering MinIO node does not know yet. A node hears of a new
 * tier from the node that added it, and reloads it in the background (or from disk every 15 min if it
 * missed the word): through a Service, the write can land on a node that has not reloaded yet.
 */
export const TIER_PROPAGATION_WAIT_MS = 30_000;

/** Writes the whole document (an empty one removes it). */
export async function writeLifecycle(
  client: Minio.Client,
  bucket: string,
  doc: NormalDocument,
  tierWaitMs = TIER_PROPAGATION_WAIT_MS,
): Promise<void> {
  const write = async () => {
    if (doc.length === 0) await client.removeBucketLifecycle(bucket);
    else await client.setBucketLifecycle(bucket, toMinioLifecycle(doc) as unknown as Minio.LifecycleConfig);
  };
  const tierUnknown = (err: unknown) => (err as { code?: string }).code === "InvalidStorageClass";
  try {
    await retryWhile(write, { passes: tierUnknown, forMs: tierWaitMs, everyMs: 500 });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const waited = tierUnknown(err) ? ` (the tier still unknown after ${tierWaitMs} ms)` : "";
    throw new Error(`setting the lifecycle of bucket "${bucket}" failed: ${e.code ?? "error"}: ${e.message}${waited}`);
  }
}

const settingsOf = (i: LifecycleInputs): LifecycleSettings => ({
  bucket: i.bucket,
  tier: i.tier,
  transitionDays: i.transitionDays,
  prefix: i.prefix,
  minObjectSizeBytes: i.minObjectSizeBytes,
  expirationDays: i.expirationDays,
  noncurrentTransitionDays: i.noncurrentTransitionDays,
  noncurrentExpirationDays: i.noncurrentExpirationDays,
});

/**
 * Owns a bucket's whole lifecycle document: one writer per bucket (MinIO keeps one document, two
 * writers would clobber each other). `diff` compares normalised documents, so what minio-js reads
 * back in another shape never shows as a change.
 */
export const bucketLifecycleProvider: pulumi.dynamic.ResourceProvider<CheckedInputs, LifecycleOutputs> = {
  async check(_olds, news) {
    const inputs: CheckedInputs = {
      ...news,
      transitionDays: news.transitionDays ?? 30,
      prefix: news.prefix ?? "",
      minObjectSizeBytes: news.minObjectSizeBytes ?? 0,
    };
    const failures = isKnown(inputs.bucket) ? settingsProblems(inputs) : [];
    if (isKnown(inputs.bucket)) {
      const problem = bucketNameProblem(inputs.bucket);
      if (problem) failures.push({ property: "bucket", reason: problem });
    }
    if (isKnown(inputs.tier)) {
      const problem = tierNameProblem(inputs.tier);
      const where = `bucket "${inputs.bucket}", rule "${transitionRuleId}"`;
      if (problem) failures.push({ property: "tier", reason: `${where}: ${problem}` });
      else if (isKnown(inputs.connection) && !inputs.tierFromResource) {
        // A tier named as a string must exist already. A MinioTier of the program is made before the
        // rule (the dependency), but a preview knows its name before it exists: not looked up then.
        const tiers = await listTiers(inputs.connection);
        if (!tiers.some((t) => t.name === inputs.tier)) {
          failures.push({
            property: "tier",
            reason:
              `${where}: tier "${inputs.tier}" does not exist on ${inputs.connection.endpoint} ` +
              `(tiers: ${tiers.map((t) => t.name).join(", ") || "none"})`,
          });
        }
      }
    }
    const settings = settingsOf(inputs);
    if (isKnown(settings) && failures.length === 0) inputs.rules = buildDocument(settings);
    return { inputs, failures };
  },

  async diff(_id, olds, news) {
    const replaces = olds.bucket === news.bucket ? [] : ["bucket"];
    const current = olds.rules ?? buildDocument(settingsOf(olds));
    const changes =
      replaces.length > 0 ||
      !documentsEqual(current, buildDocument(settingsOf(news))) ||
      connectionChanged(olds.connection, news.connection);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    const client = minioClient(inputs.connection);
    if (!(await client.bucketExists(inputs.bucket))) {
      throw new Error(`bucket "${inputs.bucket}" does not exist on ${inputs.connection.endpoint}`);
    }
    const desired = buildDocument(settingsOf(inputs));
    const existing = await readLifecycle(client, inputs.bucket);
    if (existing.length > 0 && !documentsEqual(existing, desired)) {
      throw new Error(
        `bucket "${inputs.bucket}" already has a lifecycle document (rules: ${existing.map((r) => r.id).join(", ")}); ` +
          "a BucketLifecycle owns the whole document: remove the existing one first (mc ilm rule rm --all --force)",
      );
    }
    await writeLifecycle(client, inputs.bucket, desired);
    return { id: inputs.bucket, outs: { ...inputs, rules: desired } };
  },

  async read(id, props) {
    if (!props) throw new Error(`reading the lifecycle of bucket "${id}" needs its connection`);
    return withStateConnection(props.connection, `reading the lifecycle of bucket "${id}"`, async () => {
      const client = minioClient(props.connection);
      if (!(await client.bucketExists(id))) return {};
      // Whatever is there now becomes `rules`, in the outputs and the inputs: a rule changed outside
      // Pulumi shows as an update of exactly those rules.
      const state = { ...props, rules: await readLifecycle(client, id) };
      return { id, props: state, inputs: state };
    });
  },

  async update(_id, _olds, news) {
    // Writing the whole document is idempotent: no need to work out which rule changed.
    const desired = buildDocument(settingsOf(news));
    await writeLifecycle(minioClient(news.connection), news.bucket, desired);
    return { outs: { ...news, rules: desired } };
  },

  async delete(id, props) {
    await withStateConnection(props.connection, `deleting the lifecycle of bucket "${id}"`, async () => {
      try {
        await minioClient(props.connection).removeBucketLifecycle(id);
      } catch (err) {
        // Already gone with its bucket: nothing left to delete.
        if ((err as { code?: string }).code !== "NoSuchBucket") throw err;
      }
    });
  },
};

/**
 * A bucket's lifecycle: large objects move to the cold tier after some days, optional expiration.
 * Give it the MinioTier itself so it is created after the tier and destroyed before it.
 */
export class BucketLifecycle extends pulumi.dynamic.Resource {
  declare readonly bucket: pulumi.Output<string>;
  declare readonly tier: pulumi.Output<string>;
  declare readonly transitionDays: pulumi.Output<number>;
  declare readonly rules: pulumi.Output<NormalDocument>;

  constructor(name: string, args: BucketLifecycleArgs, opts?: pulumi.CustomResourceOptions) {
    // tier.name is an output of the tier: passing it makes the lifecycle depend on the tier.
    const tier = pulumi.Resource.isInstance(args.tier) ? (args.tier as MinioTier) : undefined;
    super(
      bucketLifecycleProvider,
      name,
      {
        connection: args.connection,
        bucket: args.bucket,
        tier: tier ? tier.name : args.tier,
        tierFromResource: tier !== undefined,
        transitionDays: args.transitionDays,
        prefix: args.prefix,
        minObjectSizeBytes: args.minObjectSizeBytes,
        expirationDays: args.expirationDays,
        noncurrentTransitionDays: args.noncurrentTransitionDays,
        noncurrentExpirationDays: args.noncurrentExpirationDays,
        rules: undefined,
      },
      { ...opts, additionalSecretOutputs: ["connection"] },
      "storage",
      "BucketLifecycle",
    );
  }
}

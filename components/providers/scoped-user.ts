import * as pulumi from "@pulumi/pulumi";
import { describeOwner, ownerFromPolicyId, ownerPolicyId } from "../../rules/ownership";
import {
  addCannedPolicy,
  addUser,
  attachPolicies,
  cannedPolicy,
  isMinioAdminError,
  removeCannedPolicy,
  removeUser,
  userInfo,
} from "./minio-admin";
import {
  connectionChanged,
  defaultOwner,
  type MinioConnection,
  type MinioConnectionInput,
  withStateConnection,
} from "./minio-connection";

/** Inputs of a {@link ScopedUser}. */
export interface ScopedUserArgs {
  /** How `pulumi up` reaches MinIO's admin API, as an administrator. A change is an update. */
  connection: MinioConnectionInput;
  /** The user's access key (its name). Changing it replaces the user. */
  accessKey: pulumi.Input<string>;
  /** The user's secret key (secret). Changing it updates the user in place. */
  secretKey: pulumi.Input<string>;
  /** Name of the canned policy that holds `policy`; the user's only policy. */
  policyName: pulumi.Input<string>;
  /** The IAM policy document. Changing it updates the policy in place. */
  policy: pulumi.Input<object>;
  /**
   * Take over a user or policy of these names that exists and is not this stack's. Default false:
   * taking one over resets its secret key and replaces its policy, which breaks whoever uses it now
   * (e.g. another stack on the same MinIO), so it is refused unless asked for.
   */
  adoptExisting?: pulumi.Input<boolean>;
  /** The stack the user belongs to, written as its policy's `ID`. Default `<project>/<stack>`. */
  owner?: pulumi.Input<string>;
}

interface ScopedUserInputs {
  connection: MinioConnection;
  accessKey: string;
  secretKey: string;
  policyName: string;
  policy: object;
  adoptExisting: boolean;
  owner: string;
}

/** Attaching a policy that is attached already is MinIO's way of saying there is nothing to do. */
async function attachOnce(connection: MinioConnection, user: string, policy: string): Promise<void> {
  try {
    await attachPolicies(connection, user, [policy]);
  } catch (err) {
    if (!isMinioAdminError(err, "XMinioAdminPolicyChangeAlreadyApplied")) throw err;
  }
}

/**
 * Creates or updates a user and its one canned policy, and attaches it: what the provider does on
 * create and update, and what the tests do to stand up the identities the program would create.
 * With an owner, the policy document carries it as its `ID` (MinIO users have no tags).
 */
export async function applyScopedUser(
  connection: MinioConnection,
  user: { accessKey: string; secretKey: string; policyName: string; policy: object; owner?: string },
): Promise<void> {
  const document = user.owner ? { ID: ownerPolicyId(user.owner), ...user.policy } : user.policy;
  await addCannedPolicy(connection, user.policyName, document);
  await addUser(connection, user.accessKey, user.secretKey);
  await attachOnce(connection, user.accessKey, user.policyName);
}

/** A policy document in one canonical text: keys sorted, lists of strings sorted, no `ID`. */
function canonicalPolicy(policy: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      const items = value.map(canonical);
      return items.every((i) => typeof i === "string") ? [...(items as string[])].sort() : items;
    }
    if (value && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value)
          .filter(([key]) => key !== "ID")
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, v]) => [key, canonical(v)]),
      );
    }
    return value;
  };
  return JSON.stringify(canonical(policy));
}

/** Who holds the names on the server now: nobody, this stack, or someone else (described). */
async function nameHolder(inputs: ScopedUserInputs): Promise<{ ours: boolean; found?: string }> {
  const policy = await cannedPolicy(inputs.connection, inputs.policyName);
  const info = await userInfo(inputs.connection, inputs.accessKey).catch((err) => {
    if (isMinioAdminError(err, "XMinioAdminNoSuchUser")) return undefined;
    throw err;
  });
  if (!policy && !info) return { ours: true };
  const policyOwner = ownerFromPolicyId(policy?.ID);
  // A user with no policy and no group, beside our own policy, is what a create of ours leaves when
  // it is interrupted between add-user and attach: ours, not "attached elsewhere".
  const attached = info?.policyName ?? "";
  const bare = info !== undefined && attached === "" && (info.memberOf ?? []).length === 0;
  const attachedElsewhere = info !== undefined && !bare && attached !== inputs.policyName;
  if (policyOwner === inputs.owner && !attachedElsewhere) return { ours: true };
  const what = info ? `user "${inputs.accessKey}"` : `policy "${inputs.policyName}"`;
  const owner = policy ? describeOwner(policyOwner) : `its policy is "${info?.policyName ?? "none"}"`;
  return {
    ours: false,
    found: `${what} already exists on ${inputs.connection.endpoint} and is not this stack's (${owner})`,
  };
}

/**
 * A MinIO user that holds exactly one policy of its own: the least-privilege identity of a client
 * (the API, or the hot cluster on the cold one). The user, the canned policy and the attachment
 * are one resource, so they appear and disappear together. The policy's `ID` names the owning stack,
 * so a user of the same name that another stack (or a person) made is never taken over silently.
 */
export const scopedUserProvider: pulumi.dynamic.ResourceProvider<ScopedUserInputs, ScopedUserInputs> = {
  async check(_olds, news) {
    return { inputs: { ...news, adoptExisting: news.adoptExisting ?? false } };
  },

  async diff(_id, olds, news) {
    const replaces = (["accessKey", "policyName"] as const).filter((key) => olds[key] !== news[key]);
    const changes =
      replaces.length > 0 ||
      olds.secretKey !== news.secretKey ||
      olds.owner !== news.owner ||
      (olds.adoptExisting ?? false) !== news.adoptExisting ||
      canonicalPolicy(olds.policy) !== canonicalPolicy(news.policy) ||
      connectionChanged(olds.connection, news.connection);
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const holder = await nameHolder(inputs);
    if (!holder.ours && !inputs.adoptExisting) {
      throw new Error(
        `${holder.found}: taking it over would reset its secret key and replace its policy. ` +
          "Set adoptExisting only if it is yours, or choose another name",
      );
    }
    await applyScopedUser(inputs.connection, inputs);
    return { id: inputs.accessKey, outs: inputs };
  },

  async read(id, props) {
    if (!props) throw new Error(`reading user "${id}" needs the program's inputs (its connection)`);
    return withStateConnection(props.connection, `reading user "${id}"`, async () => {
      let info: Awaited<ReturnType<typeof userInfo>>;
      try {
        info = await userInfo(props.connection, id);
      } catch (err) {
        if (isMinioAdminError(err, "XMinioAdminNoSuchUser")) return {};
        throw err;
      }
      const found = await cannedPolicy(props.connection, props.policyName);
      const { ID, ...document } = found ?? {};
      // The document as MinIO keeps it, unless it only differs in layout from ours.
      const policy = found && canonicalPolicy(document) === canonicalPolicy(props.policy) ? props.policy : document;
      const state: ScopedUserInputs = {
        ...props,
        accessKey: id,
        policyName: info.policyName ?? "",
        policy,
        owner: ownerFromPolicyId(ID) ?? "",
      };
      // Inputs as found, so `preview --refresh` shows exactly what drifted.
      return { id, props: state, inputs: state };
    });
  },

  async update(_id, _olds, news) {
    await applyScopedUser(news.connection, news);
    return { outs: news };
  },

  async delete(id, props) {
    await withStateConnection(props.connection, `deleting user "${id}"`, async () => {
      try {
        await removeUser(props.connection, id);
      } catch (err) {
        if (!isMinioAdminError(err, "XMinioAdminNoSuchUser")) throw err;
      }
      await removeCannedPolicy(props.connection, props.policyName);
    });
  },
};

export class ScopedUser extends pulumi.dynamic.Resource {
  declare readonly accessKey: pulumi.Output<string>;
  declare readonly secretKey: pulumi.Output<string>;
  declare readonly policyName: pulumi.Output<string>;

  constructor(name: string, args: ScopedUserArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      scopedUserProvider,
      name,
      { ...args, owner: args.owner ?? defaultOwner() },
      { ...opts, additionalSecretOutputs: ["connection", "secretKey"] },
      "storage",
      "ScopedUser",
    );
  }
}

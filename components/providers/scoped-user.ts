import * as pulumi from "@pulumi/pulumi";
import {
  addCannedPolicy,
  addUser,
  attachPolicies,
  isMinioAdminError,
  removeCannedPolicy,
  removeUser,
  userInfo,
} from "./minio-admin";
import type { MinioConnection, MinioConnectionInput } from "./minio-connection";

/** Inputs of a {@link ScopedUser}. */
export interface ScopedUserArgs {
  /** How `pulumi up` reaches MinIO's admin API, as an administrator. */
  connection: MinioConnectionInput;
  /** The user's access key (its name). Changing it replaces the user. */
  accessKey: pulumi.Input<string>;
  /** The user's secret key (secret). Changing it updates the user in place. */
  secretKey: pulumi.Input<string>;
  /** Name of the canned policy that holds `policy`; the user's only policy. */
  policyName: pulumi.Input<string>;
  /** The IAM policy document. Changing it updates the policy in place. */
  policy: pulumi.Input<object>;
}

interface ScopedUserInputs {
  connection: MinioConnection;
  accessKey: string;
  secretKey: string;
  policyName: string;
  policy: object;
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
 */
export async function applyScopedUser(
  connection: MinioConnection,
  user: { accessKey: string; secretKey: string; policyName: string; policy: object },
): Promise<void> {
  await addCannedPolicy(connection, user.policyName, user.policy);
  await addUser(connection, user.accessKey, user.secretKey);
  await attachOnce(connection, user.accessKey, user.policyName);
}

/**
 * A MinIO user that holds exactly one policy of its own: the least-privilege identity of a client
 * (the API, or the hot cluster on the cold one). The user, the canned policy and the attachment
 * are one resource, so they appear and disappear together.
 */
export const scopedUserProvider: pulumi.dynamic.ResourceProvider<ScopedUserInputs, ScopedUserInputs> = {
  async diff(_id, olds, news) {
    const replaces = (["accessKey", "policyName"] as const).filter((key) => olds[key] !== news[key]);
    const changes =
      replaces.length > 0 ||
      olds.secretKey !== news.secretKey ||
      JSON.stringify(olds.policy) !== JSON.stringify(news.policy);
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    await applyScopedUser(inputs.connection, inputs);
    return { id: inputs.accessKey, outs: inputs };
  },

  async read(id, props) {
    if (!props) throw new Error(`reading user "${id}" needs the program's inputs (its connection)`);
    try {
      const info = await userInfo(props.connection, id);
      return { id, props: { ...props, accessKey: id, policyName: info.policyName ?? "" } };
    } catch (err) {
      if (isMinioAdminError(err, "XMinioAdminNoSuchUser")) return {};
      throw err;
    }
  },

  async update(_id, _olds, news) {
    await applyScopedUser(news.connection, news);
    return { outs: news };
  },

  async delete(id, props) {
    try {
      await removeUser(props.connection, id);
    } catch (err) {
      if (!isMinioAdminError(err, "XMinioAdminNoSuchUser")) throw err;
    }
    await removeCannedPolicy(props.connection, props.policyName);
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
      { ...args },
      { ...opts, additionalSecretOutputs: ["connection", "secretKey"] },
      "storage",
      "ScopedUser",
    );
  }
}

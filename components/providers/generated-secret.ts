import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** Inputs of a {@link GeneratedSecret}. */
export interface GeneratedSecretArgs {
  /** Number of characters (URL-safe alphabet: A-Z a-z 0-9 - _). Default 40; 16 to 256. */
  length?: pulumi.Input<number>;
  /** Arbitrary values; changing any of them generates a new secret (rotation). */
  keepers?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

interface SecretInputs {
  length: number;
  keepers: Record<string, string>;
}
interface SecretOutputs extends SecretInputs {
  value: string;
}

const minLength = 16;
const maxLength = 256;

/**
 * Generates a random secret once and keeps it in state (encrypted): root credentials, API keys.
 * It stands where `@pulumi/random`'s RandomPassword would; see README, "Why our own providers".
 */
const generatedSecretProvider: pulumi.dynamic.ResourceProvider<SecretInputs, SecretOutputs> = {
  async check(_olds, news) {
    const length = news.length ?? 40;
    const failures =
      Number.isInteger(length) && length >= minLength && length <= maxLength
        ? []
        : [
            {
              property: "length",
              reason: `length must be an integer from ${minLength} to ${maxLength}, got ${length}`,
            },
          ];
    return { inputs: { length, keepers: news.keepers ?? {} }, failures };
  },
  async diff(_id, olds, news) {
    const replaces: string[] = [];
    if (olds.length !== news.length) replaces.push("length");
    if (JSON.stringify(olds.keepers ?? {}) !== JSON.stringify(news.keepers ?? {})) replaces.push("keepers");
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
  async create(inputs) {
    // base64url of n bytes yields ceil(4n/3) characters from a 64-character alphabet: 6 bits each.
    const value = randomBytes(Math.ceil((inputs.length * 3) / 4))
      .toString("base64url")
      .slice(0, inputs.length);
    return { id: randomBytes(8).toString("hex"), outs: { ...inputs, value } };
  },
};

export class GeneratedSecret extends pulumi.dynamic.Resource {
  /** The generated value; a secret output. */
  declare readonly value: pulumi.Output<string>;
  declare readonly length: pulumi.Output<number>;

  constructor(name: string, args: GeneratedSecretArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      generatedSecretProvider,
      name,
      { length: args.length ?? 40, keepers: args.keepers ?? {}, value: undefined },
      { ...opts, additionalSecretOutputs: ["value"] },
      "storage",
      "GeneratedSecret",
    );
  }
}

import { createRequire } from "node:module";
import * as pulumi from "@pulumi/pulumi";
// Internal to the SDK (marked @internal, so not in its typings), but the event to wait on: its own
// count of calls still in flight.
import * as sdkSettings from "@pulumi/pulumi/runtime/settings";

const { waitForRPCs } = sdkSettings as unknown as { waitForRPCs(): Promise<void> };

/** A resource the program registered under the mocks: what a unit test inspects. */
export interface Registered {
  type: string;
  name: string;
  // Inputs are whatever the component passed: tests read them as plain data.
  // biome-ignore lint/suspicious/noExplicitAny: resource inputs are untyped at this level
  inputs: Record<string, any>;
}

/**
 * Installs Pulumi mocks and returns the list every registered resource is appended to. Dynamic
 * resources get a deterministic `value` output, so generated secrets can be followed through.
 */
export function installMocks(): Registered[] {
  skipDynamicProviderSerialisation();
  const registered: Registered[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state = { ...args.inputs };
        if (args.type.endsWith(":GeneratedSecret")) state.value = `mock-${args.name}`;
        // A Kubernetes object without a name gets one from Pulumi: the resource name and a suffix.
        if (args.type.startsWith("kubernetes:") && state.metadata && !state.metadata.name) {
          state.metadata = { ...state.metadata, name: `${args.name}-generated` };
        }
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "workflow-studio-storage",
    "test",
    false,
  );
  return registered;
}

/** Resolves an Output's value (awaited, so assertions never hide inside an unawaited apply). */
export function resolvedValue<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Whether an Output is marked secret. */
export function isSecret<T>(output: pulumi.Output<T>): Promise<boolean> {
  return pulumi.isSecret(output);
}

/**
 * Waits until every registration the program started has reached the mocks: the SDK counts its
 * outstanding calls to the engine (mocks included), and `waitForRPCs` resolves once none is left,
 * so resources whose inputs wait on other resources, or on serialising a dynamic provider, are in.
 * `registered` is what the caller will read; it is filled by then.
 */
export async function settle(_registered: Registered[]): Promise<void> {
  await waitForRPCs();
}

export function find(registered: Registered[], type: string, name: string): Registered {
  const found = registered.find((r) => r.type === type && r.name === name);
  if (!found) {
    throw new Error(`no ${type} named ${name}; registered: ${registered.map((r) => `${r.type} ${r.name}`).join(", ")}`);
  }
  return found;
}

/**
 * A transformation that records each child's parent: passed to a component, it proves that every
 * resource the component creates is parented (directly or through another child) to it.
 */
export function parentRecorder(componentName: string): {
  parents: Map<string, string | undefined>;
  transformation: pulumi.ResourceTransformation;
} {
  const parents = new Map<string, string | undefined>();
  return {
    parents,
    transformation: (args) => {
      // The transformation also sees the component itself; only its descendants are recorded.
      if (args.name !== componentName) {
        parents.set(args.name, (args.opts.parent as { __name?: string } | undefined)?.__name);
      }
      return undefined;
    },
  };
}

/** The marker Pulumi wraps secret values in when it serialises resource inputs. */
const secretSignature = "4dabf18193072939515e22adb298388d";

/** Inputs with every secret unwrapped to its plain value (and a list of the paths that were secret). */
export function plain(value: unknown, path = "", secrets: string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v, i) => plain(v, `${path}[${i}]`, secrets));
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (secretSignature in obj) {
      secrets.push(path);
      return plain(obj.value, path, secrets);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plain(v, path ? `${path}.${k}` : k, secrets)]));
  }
  return value;
}

/**
 * Under vitest, imports are rewritten, so Pulumi's closure serialiser cannot see that a provider's
 * `node:crypto` or `minio` is a module and tries to serialise Node's internals. The unit layer checks
 * wiring, not serialisation (the engine tests run the real thing), so dynamic providers are given
 * a placeholder here.
 */
function skipDynamicProviderSerialisation(): void {
  const closure = createRequire(__filename)("@pulumi/pulumi/runtime/closure/serializeClosure");
  closure.serializeFunction = async () => ({
    text: "/* dynamic provider: not serialised under mocks */",
    containsSecrets: false,
  });
}

// A dynamic provider's operations as the engine calls them: with property bags, not typed inputs, so a
// test can hand them what the engine would (unknowns, partial state, an empty `olds`).

// biome-ignore lint/suspicious/noExplicitAny: provider inputs and outputs are untyped property bags here
export type Bag = any;
type Operation = "check" | "diff" | "create" | "read" | "update" | "delete";

export const untypedProvider = (p: unknown) => p as { [K in Operation]: (...args: Bag[]) => Promise<Bag> };

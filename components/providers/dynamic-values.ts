/**
 * During a preview, a dynamic provider's `check` and `diff` see values that are not known yet (an
 * output of a resource still to be created) as this sentinel string (`@pulumi/pulumi` runtime/rpc.ts
 * `unknownValue`). Checks that need the real value skip it; the engine checks again during `up`.
 */
const unknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when neither the value nor anything inside it is still unknown. */
export function isKnown(value: unknown): boolean {
  if (value === unknownValue) return false;
  if (Array.isArray(value)) return value.every(isKnown);
  if (value && typeof value === "object") return Object.values(value).every(isKnown);
  return true;
}

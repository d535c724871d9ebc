// The tier naming rule, one owner for the stack config and the tier and lifecycle providers: MinIO
// demands uppercase and keeps two storage-class names; we also keep to a letter first, then letters,
// digits, `_` and `-`, so the name is safe in a URL path and as a lifecycle storage class.
const TIER_NAME = /^[A-Z][A-Z0-9_-]{0,62}$/;

/** Storage class names MinIO keeps for itself (XMinioAdminTierReserved). */
export const RESERVED_TIER_NAMES = ["STANDARD", "REDUCED_REDUNDANCY"];

export const TIER_NAME_RULE = `1-63 uppercase letters, digits, _ and -, starting with a letter; not ${RESERVED_TIER_NAMES.join(" or ")}`;

/** Why a tier name is refused, or undefined. */
export function tierNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || !TIER_NAME.test(name)) {
    return `tier name "${String(name)}" is invalid: use ${TIER_NAME_RULE}`;
  }
  if (RESERVED_TIER_NAMES.includes(name)) {
    return `tier name "${name}" is reserved by MinIO (${RESERVED_TIER_NAMES.join(", ")})`;
  }
  return undefined;
}

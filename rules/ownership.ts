// Which stack a bucket or a MinIO user belongs to, one owner for the rule: written where MinIO keeps
// it (a bucket tag; the ID of the user's canned policy, since MinIO users carry no tags) when the stack
// creates the thing, and read back before a stack takes a thing of that name. A stack recognises
// what it made (destroy with retained buckets, then up; an interrupted create) and refuses what it
// did not, unless told to adopt it.

/** The bucket tag that names the owning stack. */
export const OWNER_TAG = "workflow-studio-storage/owner";

/** A stack's owner value: `<project>/<stack>`. */
export function stackOwner(project: string, stack: string): string {
  return `${project}/${stack}`;
}

/** The canned policy `ID` that marks a user (and its policy) as a stack's. */
export function ownerPolicyId(owner: string): string {
  return `${OWNER_TAG}=${owner}`;
}

/** The owner a policy ID names, or undefined when the policy carries no owner of ours. */
export function ownerFromPolicyId(id: unknown): string | undefined {
  const prefix = `${OWNER_TAG}=`;
  return typeof id === "string" && id.startsWith(prefix) ? id.slice(prefix.length) : undefined;
}

/** How a refusal names what it found: "owned by stack X", or "no ownership mark of ours". */
export function describeOwner(owner: string | undefined): string {
  return owner ? `owned by stack "${owner}"` : "it carries no ownership mark of this project";
}

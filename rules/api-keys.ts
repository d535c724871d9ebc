// The API's bearer keys: one format and one set of rules, read by the API at start (API_KEYS) and by
// the Pulumi program before anything is created (the `apiKeys` stack secret), so a key the API would
// refuse never reaches a pod. No side effects: every layer may import this file.

/**
 * What a key may do. Each route needs exactly one scope (api/README.md, "Keys and scopes"); the
 * OpenAPI document needs any valid key.
 */
export const API_KEY_SCOPES = [
  /** POST /upload and POST /v1/uploads: upload through the API. */
  "upload",
  /** POST /v1/uploads/presign: a link to upload straight to MinIO. */
  "presign",
  /** GET /v1/objects/{uploads bucket}/url: a download link for an upload. */
  "download",
  /** GET /v1/executions/{id}/artifacts and download links for artifacts. */
  "artifacts:read",
  /** POST /v1/executions/{id}/artifacts. */
  "artifacts:write",
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKey {
  /** Who holds the key: logged and counted instead of the key. */
  name: string;
  /** The secret the client sends as `Authorization: Bearer <key>`. */
  key: string;
  scopes: ApiKeyScope[];
}

export const MIN_API_KEY_LENGTH = 16;
export const MAX_API_KEY_LENGTH = 512;
/** RFC 6750's b64token: what an Authorization header can carry without quoting. */
const KEY_PATTERN = /^[A-Za-z0-9._~+/-]+=*$/;
/** Names end up in log fields and metric labels: short, lowercase, no spaces. */
export const KEY_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const API_KEYS_FORMAT =
  'a JSON array like [{"name":"studio","key":"<at least 16 characters>","scopes":["upload","download"]}]';

function isScope(value: unknown): value is ApiKeyScope {
  return typeof value === "string" && (API_KEY_SCOPES as readonly string[]).includes(value);
}

/**
 * Parses and checks the keys. Problems name the entry by its position and name, never by its key:
 * these messages end up in logs and in `pulumi up` output.
 */
export function parseApiKeys(text: string): { keys: ApiKey[]; problems: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { keys: [], problems: [`must be ${API_KEYS_FORMAT}`] };
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    return { keys: [], problems: [`must be ${API_KEYS_FORMAT}, with at least one key`] };
  }
  const problems: string[] = [];
  const keys: ApiKey[] = [];
  const seen = new Set<string>();
  parsed.forEach((entry: unknown, i) => {
    const where = `key #${i + 1}`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      problems.push(`${where} is not an object with name, key and scopes`);
      return;
    }
    const { name, key, scopes, ...extra } = entry as Record<string, unknown>;
    const label = typeof name === "string" && KEY_NAME_PATTERN.test(name) ? `${where} ("${name}")` : where;
    const before = problems.length;
    if (typeof name !== "string" || !KEY_NAME_PATTERN.test(name)) {
      problems.push(`${where}: name must be 1-63 lowercase letters, digits, '.', '_' or '-'`);
    }
    if (typeof key !== "string") problems.push(`${label}: key must be a string`);
    else if (key.length < MIN_API_KEY_LENGTH)
      problems.push(`${label}: key is shorter than ${MIN_API_KEY_LENGTH} characters`);
    else if (key.length > MAX_API_KEY_LENGTH)
      problems.push(`${label}: key is longer than ${MAX_API_KEY_LENGTH} characters`);
    else if (!KEY_PATTERN.test(key)) {
      problems.push(`${label}: key may hold only letters, digits and . _ ~ + / - (no whitespace)`);
    } else if (seen.has(key)) problems.push(`${label}: key is the same as an earlier key`);
    if (!Array.isArray(scopes) || scopes.length === 0) {
      problems.push(`${label}: scopes must be a non-empty list of ${API_KEY_SCOPES.join(", ")}`);
    } else {
      const unknown = scopes.filter((s) => !isScope(s));
      if (unknown.length > 0) {
        problems.push(`${label}: unknown scope(s) ${unknown.map((s) => JSON.stringify(s)).join(", ")}`);
      }
    }
    const extras = Object.keys(extra);
    if (extras.length > 0) problems.push(`${label}: unknown field(s) ${extras.join(", ")}`);
    if (problems.length === before) {
      seen.add(key as string);
      keys.push({ name: name as string, key: key as string, scopes: [...new Set(scopes as ApiKeyScope[])] });
    }
  });
  return { keys, problems };
}

/** The API_KEYS text for one key holding every scope (the key a stack generates when none is set). */
export function singleKeyWithAllScopes(name: string, key: string): string {
  return JSON.stringify([{ name, key, scopes: [...API_KEY_SCOPES] }]);
}

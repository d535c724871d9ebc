// Which declared content types the service accepts (ALLOWED_CONTENT_TYPES, with `type/*` wildcards).

/** `Text/Plain; charset=utf-8` -> `text/plain`; undefined for anything that is not type/subtype. */
export function essence(contentType: string | undefined): string | undefined {
  const value = contentType?.split(";")[0]?.trim().toLowerCase();
  return value && /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(value) ? value : undefined;
}

export function isAllowedContentType(contentType: string | undefined, allowed: readonly string[]): boolean {
  const type = essence(contentType);
  if (!type) return false;
  const major = type.slice(0, type.indexOf("/"));
  return allowed.some((pattern) => pattern === type || pattern === `${major}/*` || pattern === "*/*");
}

const TOKEN = "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*";

/** `text/plain` as a pattern that matches it in any case (JSON Schema patterns have no flags). */
function caseless(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
}

/**
 * The allowed content types as one JSON Schema pattern, for the OpenAPI document and validation:
 * what `isAllowedContentType` accepts, in any case, with optional parameters (`; charset=utf-8`).
 */
export function contentTypePattern(allowed: readonly string[]): string {
  const alternatives = allowed.map((type) => {
    if (type === "*/*") return `${TOKEN}/${TOKEN}`;
    if (type.endsWith("/*")) return `${caseless(type.slice(0, -1))}${TOKEN}`;
    return caseless(type);
  });
  // Parameters may hold anything but control characters: spelled out, since `.` means different
  // things to JavaScript's and Python's regular expressions (the contract fuzzer reads this too).
  return `^(?:${alternatives.join("|")})(?:[ \\t]*;[^\\u0000-\\u001f\\u007f]*)?$`;
}

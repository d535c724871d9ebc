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

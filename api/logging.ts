// What the request log may show. Clients put credentials in URLs whatever we document (a bearer key
// as ?access_token= or ?api_key=, a presigned link's signature pasted into a query): those values are
// replaced before any log line is written. Headers are not logged at all.
import type { FastifyServerOptions } from "fastify";

/** Query parameters whose values are credentials (compared case-insensitively). */
export const SECRET_QUERY_PARAMS = [
  "access_token",
  "api_key",
  "apikey",
  "token",
  "key_secret",
  "x-amz-signature",
  "x-amz-credential",
  "x-amz-security-token",
];
/** A bearer key sent in the URL: refused, so clients learn to send it in the header. */
export const KEY_QUERY_PARAMS = ["access_token", "api_key", "apikey"];

const REDACTED = "[redacted]";

/** `url` with the values of SECRET_QUERY_PARAMS replaced, everything else as sent. */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, " "));
      } catch {
        // A malformed name is logged as sent; it is no known secret parameter.
      }
      return SECRET_QUERY_PARAMS.includes(name.toLowerCase()) ? `${rawName}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${params.join("&")}`;
}

/** pino options for the service: the level, and a request serializer that redacts URLs. */
export function loggerOptions(level: string): NonNullable<Exclude<FastifyServerOptions["logger"], boolean>> {
  return {
    level,
    serializers: {
      req: (request: { method: string; url: string; host?: string; ip?: string }) => ({
        method: request.method,
        url: redactUrl(request.url),
        host: request.host,
        remoteAddress: request.ip,
      }),
    },
  };
}

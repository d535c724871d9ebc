// Bearer API keys with names and scopes (rules/api-keys.ts). Several keys are accepted at once so a
// key can be rotated without downtime (add the new one, move clients, drop the old one). A request
// is known by its key's name from here on: logs and metrics carry the name, never the key.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { ApiKey, ApiKeyScope } from "../rules/api-keys";
import { apiError } from "./errors";

declare module "fastify" {
  interface FastifyRequest {
    /** The key that authenticated the request (name and scopes; the key itself is not kept). */
    client?: { name: string; scopes: readonly ApiKeyScope[] };
  }
  interface FastifyContextConfig {
    /** The scope a route needs; routes whose scope depends on the request call `requireScope`. */
    scope?: ApiKeyScope;
  }
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * A checker for `Authorization: Bearer <key>` that sets `request.client`. Keys are compared as
 * SHA-256 digests with `timingSafeEqual` (equal lengths, constant time), and every key is compared on
 * every call, so neither the time taken nor an early exit tells an attacker which key or how much of
 * it matched.
 */
export function bearerAuth(keys: readonly ApiKey[]): (request: FastifyRequest) => void {
  const known = keys.map((k) => ({ digest: digest(k.key), client: { name: k.name, scopes: k.scopes } }));
  return (request) => {
    const header = request.headers.authorization;
    const match = typeof header === "string" ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
    if (!match?.[1]) {
      throw apiError("UNAUTHENTICATED", "missing bearer token", { "www-authenticate": "Bearer" });
    }
    const presented = digest(match[1]);
    let client: FastifyRequest["client"];
    for (const k of known) {
      if (timingSafeEqual(presented, k.digest)) client ??= k.client;
    }
    if (!client) {
      throw apiError("UNAUTHENTICATED", "invalid bearer token", {
        "www-authenticate": 'Bearer error="invalid_token"',
      });
    }
    request.client = client;
    request.log = request.log.child({ key: client.name });
  };
}

/** 403 unless the request's key holds `scope`. */
export function requireScope(request: FastifyRequest, scope: ApiKeyScope): void {
  if (request.client?.scopes.includes(scope)) return;
  throw apiError("FORBIDDEN", `key "${request.client?.name ?? "?"}" does not hold the scope "${scope}"`);
}

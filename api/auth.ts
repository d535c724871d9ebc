// Bearer API keys. Several keys are accepted at once so a key can be rotated without downtime
// (add the new one, move clients, drop the old one).
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { ApiError } from "./errors";

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * A checker for `Authorization: Bearer <key>`. Keys are compared as SHA-256 digests with
 * `timingSafeEqual` (equal lengths, constant time), and every key is compared on every call, so
 * neither the time taken nor an early exit tells an attacker which key or how much of it matched.
 */
export function bearerAuth(keys: readonly string[]): (request: FastifyRequest) => void {
  const digests = keys.map(digest);
  return (request) => {
    const header = request.headers.authorization;
    const match = typeof header === "string" ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
    if (!match?.[1]) {
      throw new ApiError(401, "UNAUTHENTICATED", "missing bearer token", { "www-authenticate": "Bearer" });
    }
    const presented = digest(match[1]);
    let accepted = false;
    for (const known of digests) accepted = timingSafeEqual(presented, known) || accepted;
    if (!accepted) {
      throw new ApiError(401, "UNAUTHENTICATED", "invalid bearer token", {
        "www-authenticate": 'Bearer error="invalid_token"',
      });
    }
  };
}

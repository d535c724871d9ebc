// How long a presigned link lives: the configured default, or what the caller asks for up to the
// configured maximum. Above the maximum the request is refused, never silently shortened, so a
// caller never holds a link that dies earlier than it was told.
import type { Config } from "./config";
import { badRequest } from "./errors";

export interface Expiry {
  seconds: number;
  expiresAt: string;
}

export function resolveExpiry(requested: number | undefined, presign: Config["presign"], now = new Date()): Expiry {
  const seconds = requested ?? presign.defaultSeconds;
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw badRequest("INVALID_EXPIRY", "expires_in must be a whole number of seconds, at least 1");
  }
  if (seconds > presign.maxSeconds) {
    throw badRequest("EXPIRY_TOO_LONG", `expires_in must be at most ${presign.maxSeconds} seconds, got ${seconds}`);
  }
  return { seconds, expiresAt: new Date(now.getTime() + seconds * 1000).toISOString() };
}

// How long a presigned link lives: the configured default, or what the caller asks for up to the
// configured maximum. Above the maximum the request is refused, never silently shortened, so a
// caller never holds a link that dies earlier than it was told.
import type { Config } from "./config";
import { apiError } from "./errors";

export interface Expiry {
  seconds: number;
  expiresAt: string;
}

export function resolveExpiry(requested: number | undefined, presign: Config["presign"], now = new Date()): Expiry {
  const seconds = requested ?? presign.defaultSeconds;
  // The schemas allow only whole numbers from 1: anything else here is a bug, not a request to refuse.
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new Error(`expires_in must be a whole number of seconds, at least 1, got ${seconds}`);
  }
  if (seconds > presign.maxSeconds) {
    throw apiError("EXPIRY_TOO_LONG", `expires_in must be at most ${presign.maxSeconds} seconds, got ${seconds}`);
  }
  return { seconds, expiresAt: new Date(now.getTime() + seconds * 1000).toISOString() };
}

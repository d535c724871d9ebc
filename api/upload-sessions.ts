// Multipart upload sessions for browsers: what a session is, how it is split into parts, and the
// session id a client holds. The id is the session itself, signed: the API keeps no session store
// (any replica can serve any call, a restart loses nothing), and a client cannot alter the key, the
// size or the owner without breaking the signature.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { S3_MAX_PARTS, S3_MIN_PART_BYTES } from "../rules/api-settings";

export interface UploadSession {
  /** MinIO's upload id. */
  uploadId: string;
  /** The object key under uploads/. */
  key: string;
  /** The declared size, exactly what the parts must add up to. */
  size: number;
  partSize: number;
  /** Name of the API key that created the session: only keys of that name can use it. */
  owner: string;
  /** Unix time in seconds after which the session is refused (and its upload aborted). */
  expiresAt: number;
}

/** A session's part size: the configured one, grown (by whole MiB) so no file needs more than 10000. */
export function sessionPartSize(size: number, configured: number): number {
  const mib = 1024 * 1024;
  const needed = Math.ceil(size / S3_MAX_PARTS / mib) * mib;
  return Math.max(configured, needed, S3_MIN_PART_BYTES);
}

export function partCount(session: Pick<UploadSession, "size" | "partSize">): number {
  return Math.max(1, Math.ceil(session.size / session.partSize));
}

/** The exact length of part `n` (1-based): the part size, but the last part holds the rest. */
export function partLength(session: Pick<UploadSession, "size" | "partSize">, n: number): number {
  const count = partCount(session);
  return n < count ? session.partSize : session.size - session.partSize * (count - 1);
}

/**
 * Signs and reads session ids with a key derived from the API's MinIO secret: every replica has
 * it, and a client does not.
 */
export function sessionCodec(secret: string) {
  const key = createHash("sha256").update(`upload-session\0${secret}`).digest();
  const mac = (payload: string) => createHmac("sha256", key).update(payload).digest("base64url");
  return {
    encode(session: UploadSession): string {
      const payload = Buffer.from(JSON.stringify(session)).toString("base64url");
      return `${payload}.${mac(payload)}`;
    },
    /** The session, or undefined for an id that is malformed or not ours (never an exception). */
    decode(id: string): UploadSession | undefined {
      const [payload, signature, extra] = id.split(".");
      if (!payload || !signature || extra !== undefined) return undefined;
      const expected = Buffer.from(mac(payload));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as UploadSession;
      } catch {
        return undefined;
      }
    },
  };
}
export type SessionCodec = ReturnType<typeof sessionCodec>;

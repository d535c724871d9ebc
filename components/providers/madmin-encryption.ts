import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from "node:crypto";

/**
 * The request-body encryption of MinIO's admin API (madmin-go `EncryptData` / `DecryptData`):
 *
 *     salt (32 bytes) || algorithm id (1 byte) || nonce (8 bytes) || sio stream
 *
 * The password is the secret key of the credential that signs the request. We always send id
 * 0x02 (PBKDF2-HMAC-SHA256, 8192 iterations, AES-256-GCM): the server decrypts every id whatever
 * its FIPS mode, and Node 22 has no Argon2 (ids 0x00 and 0x01), so we can open those only with a
 * key derived elsewhere (see {@link parseEncryptedData}).
 */

export const pbkdf2AesGcmId = 0x02;
const saltSize = 32;
const headerNonceSize = 8;
const headerSize = saltSize + 1 + headerNonceSize;
const pbkdf2Iterations = 8192;
const tagSize = 16;

/** sio-go's default fragment size; madmin uses it. */
export const sioFragmentSize = 16384;

/** The plaintext could not be authenticated: wrong password, corrupted or truncated data. */
export class NotAuthenticError extends Error {
  constructor(message = "madmin: data is not authentic (wrong password or corrupted data)") {
    super(message);
    this.name = "NotAuthenticError";
  }
}

export interface SioOptions {
  /** Bound into every fragment's tag through T0. madmin passes none. */
  associatedData?: Buffer;
  /** Plaintext bytes per fragment. Default {@link sioFragmentSize}; the sio-go vectors use others. */
  fragmentSize?: number;
}

/** AES-GCM with a 16-byte (AES-128) or 32-byte (AES-256) key: the two sio-go algorithms Node has. */
function gcmName(key: Buffer): "aes-128-gcm" | "aes-256-gcm" {
  if (key.length === 16) return "aes-128-gcm";
  if (key.length === 32) return "aes-256-gcm";
  throw new Error(`sio: AES-GCM needs a 16 or 32 byte key, got ${key.length}`);
}

/** The 12-byte GCM nonce of fragment `seq`: the 8-byte stream nonce, then seq as uint32 little-endian. */
function fragmentNonce(nonce: Buffer, seq: number): Buffer {
  const full = Buffer.alloc(headerNonceSize + 4);
  nonce.copy(full);
  full.writeUInt32LE(seq, headerNonceSize);
  return full;
}

function seal(key: Buffer, nonce: Buffer, plaintext: Buffer, ad: Buffer): Buffer {
  const cipher = createCipheriv(gcmName(key), key, nonce);
  cipher.setAAD(ad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, nonce: Buffer, sealed: Buffer, ad: Buffer): Buffer {
  if (sealed.length < tagSize) throw new NotAuthenticError();
  const decipher = createDecipheriv(gcmName(key), key, nonce);
  decipher.setAAD(ad);
  decipher.setAuthTag(sealed.subarray(sealed.length - tagSize));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - tagSize)), decipher.final()]);
  } catch {
    throw new NotAuthenticError();
  }
}

/**
 * The associated data of every fragment: a flag byte (0x00, or 0x80 on the final fragment) then T0,
 * the tag of sealing nothing under sequence number 0 with the caller's associated data. Fragments
 * therefore use sequence numbers 1, 2, ...; the flag stops truncation at a fragment boundary.
 */
function fragmentAd(key: Buffer, nonce: Buffer, associatedData: Buffer): Buffer {
  const t0 = seal(key, fragmentNonce(nonce, 0), Buffer.alloc(0), associatedData);
  return Buffer.concat([Buffer.from([0x00]), t0]);
}

function checkStreamNonce(nonce: Buffer): void {
  if (nonce.length !== headerNonceSize) throw new Error(`sio: nonce must be ${headerNonceSize} bytes`);
}

/** Encrypts `plaintext` as one sio-go (v0.3) stream. */
export function sioEncrypt(key: Buffer, nonce: Buffer, plaintext: Buffer, options: SioOptions = {}): Buffer {
  checkStreamNonce(nonce);
  const size = options.fragmentSize ?? sioFragmentSize;
  const ad = fragmentAd(key, nonce, options.associatedData ?? Buffer.alloc(0));
  const parts: Buffer[] = [];
  // The final fragment always exists and is never empty unless the input is: a length that is a
  // multiple of the fragment size ends with a full final fragment.
  const count = Math.max(1, Math.ceil(plaintext.length / size));
  for (let i = 0; i < count; i++) {
    ad[0] = i === count - 1 ? 0x80 : 0x00;
    parts.push(seal(key, fragmentNonce(nonce, i + 1), plaintext.subarray(i * size, (i + 1) * size), ad));
  }
  return Buffer.concat(parts);
}

/** Decrypts and authenticates one sio-go (v0.3) stream; throws {@link NotAuthenticError}. */
export function sioDecrypt(key: Buffer, nonce: Buffer, ciphertext: Buffer, options: SioOptions = {}): Buffer {
  checkStreamNonce(nonce);
  const sealedSize = (options.fragmentSize ?? sioFragmentSize) + tagSize;
  const ad = fragmentAd(key, nonce, options.associatedData ?? Buffer.alloc(0));
  const count = Math.max(1, Math.ceil(ciphertext.length / sealedSize));
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    ad[0] = i === count - 1 ? 0x80 : 0x00;
    parts.push(open(key, fragmentNonce(nonce, i + 1), ciphertext.subarray(i * sealedSize, (i + 1) * sealedSize), ad));
  }
  return Buffer.concat(parts);
}

/** The key of id 0x02 for a password and salt. */
export function pbkdf2Key(password: string, salt: Buffer): Buffer {
  return pbkdf2Sync(Buffer.from(password, "utf8"), salt, pbkdf2Iterations, 32, "sha256");
}

/** Fixed salt and nonce: only for reproducing vectors in tests; real calls take fresh random ones. */
export interface EncryptOverrides {
  salt?: Buffer;
  nonce?: Buffer;
}

/** madmin `EncryptData` with id 0x02: what the admin API expects as an encrypted request body. */
export function encryptData(password: string, plaintext: Buffer | string, overrides: EncryptOverrides = {}): Buffer {
  const salt = overrides.salt ?? randomBytes(saltSize);
  const nonce = overrides.nonce ?? randomBytes(headerNonceSize);
  if (salt.length !== saltSize) throw new Error(`madmin: salt must be ${saltSize} bytes`);
  const data = typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext;
  const stream = sioEncrypt(pbkdf2Key(password, salt), nonce, data);
  return Buffer.concat([salt, Buffer.from([pbkdf2AesGcmId]), nonce, stream]);
}

/** The parts of an encrypted body. */
export interface EncryptedData {
  salt: Buffer;
  algorithmId: number;
  nonce: Buffer;
  stream: Buffer;
}

export function parseEncryptedData(data: Buffer): EncryptedData {
  if (data.length < headerSize + tagSize) throw new Error("madmin: encrypted data is shorter than its header");
  return {
    salt: data.subarray(0, saltSize),
    algorithmId: data[saltSize] as number,
    nonce: data.subarray(saltSize + 1, headerSize),
    stream: data.subarray(headerSize),
  };
}

/**
 * madmin `DecryptData` for id 0x02. Ids 0x00/0x01 need Argon2id, which Node 22 lacks: they fail with
 * a clear error (an IAM response encrypted by a non-FIPS server would need it).
 */
export function decryptData(password: string, data: Buffer): Buffer {
  const { salt, algorithmId, nonce, stream } = parseEncryptedData(data);
  if (algorithmId !== pbkdf2AesGcmId) {
    throw new Error(`madmin: algorithm id 0x0${algorithmId.toString(16)} (Argon2id) is not supported; only 0x02`);
  }
  return sioDecrypt(pbkdf2Key(password, salt), nonce, stream);
}

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

/** A ConfigMap holds at most 1 MiB; the bundle ships gzipped (base64 in binaryData) to fit. */
export const configMapLimitBytes = 1024 * 1024;

/** The API bundled into one file (`npm run api:build`), ready to ship in a ConfigMap. */
export interface ApiBundle {
  /** gzip of the bundle, base64 (ConfigMap binaryData). */
  gzipBase64: string;
  /** SHA-256 of the bundle: a pod annotation, so a new bundle rolls the pods. */
  sha256: string;
  /** Size of the bundle before compression. */
  bytes: number;
}

export function apiBundleFrom(contents: Buffer): ApiBundle {
  const gzipBase64 = gzipSync(contents, { level: 9 }).toString("base64");
  if (gzipBase64.length >= configMapLimitBytes) {
    throw new Error(
      `the API bundle is ${gzipBase64.length} bytes gzipped and base64-encoded; a ConfigMap holds at most ${configMapLimitBytes}: trim the bundle or set apiImage`,
    );
  }
  return { gzipBase64, sha256: createHash("sha256").update(contents).digest("hex"), bytes: contents.length };
}

/** Reads the built bundle; the error says how to build it. */
export function readApiBundle(file: string): ApiBundle {
  let contents: Buffer;
  try {
    contents = readFileSync(file);
  } catch {
    throw new Error(`the API bundle ${file} is missing: run \`npm run api:build\` first`);
  }
  return apiBundleFrom(contents);
}

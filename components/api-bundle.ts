import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { CONFIGMAP_LIMIT_BYTES, fitsConfigMapBinary } from "../rules/configmap";

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
  const gzip = gzipSync(contents, { level: 9 });
  const gzipBase64 = gzip.toString("base64");
  if (!fitsConfigMapBinary(gzip.length)) {
    throw new Error(
      `the API bundle is ${gzipBase64.length} bytes gzipped and base64-encoded; a ConfigMap holds at most ${CONFIGMAP_LIMIT_BYTES}: trim the bundle or set apiImage`,
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

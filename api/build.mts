// Bundles the service into one file, dist/api/server.js (esbuild, platform node, target node22,
// minified), and reports its size raw and gzipped: the Pulumi program ships it in a ConfigMap,
// whose data may not exceed 1 MiB. `npm run api:build`; exits non-zero on failure.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { CONFIGMAP_LIMIT_BYTES, fitsConfigMapBinary } from "../rules/configmap.ts";

export { CONFIGMAP_LIMIT_BYTES };

const projectRoot = resolve(import.meta.dirname, "..");

export interface BundleReport {
  file: string;
  rawBytes: number;
  gzipBytes: number;
  fitsConfigMap: boolean;
  /** Whether the gzipped bundle fits a ConfigMap's binaryData (base64), as the deploy checks it. */
  gzipFitsConfigMap: boolean;
}

/**
 * Builds the bundle into `outDir`. `sourceMap` writes server.js.map beside it (not linked from the
 * bundle, which ships without it): for the benchmark's profiles, to name the source of a function.
 */
export async function buildBundle(
  outDir = join(projectRoot, "dist", "api"),
  options: { sourceMap?: boolean } = {},
): Promise<BundleReport> {
  const file = join(outDir, "server.js");
  await build({
    entryPoints: [join(projectRoot, "api", "server.ts")],
    outfile: file,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    // Keep function and class names: pino and error logs stay readable after minification.
    keepNames: true,
    legalComments: "none",
    sourcemap: options.sourceMap ? "external" : false,
    logLevel: "warning",
  });
  const raw = readFileSync(file);
  const gzipBytes = gzipSync(raw, { level: 9 }).length;
  return {
    file,
    rawBytes: raw.length,
    gzipBytes,
    fitsConfigMap: raw.length <= CONFIGMAP_LIMIT_BYTES,
    gzipFitsConfigMap: fitsConfigMapBinary(gzipBytes),
  };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

if (process.argv[1] === import.meta.filename) {
  buildBundle().then(
    (report) => {
      console.log(`bundle: ${report.file}`);
      console.log(
        `size:   ${report.rawBytes} bytes (${kib(report.rawBytes)}) raw, ${report.gzipBytes} bytes (${kib(report.gzipBytes)}) gzipped`,
      );
      console.log(
        report.fitsConfigMap
          ? "fits a ConfigMap (1 MiB) as is"
          : `does NOT fit a ConfigMap (1 MiB) raw; gzipped it ${report.gzipFitsConfigMap ? "fits" : "does not fit either"}`,
      );
    },
    (err: Error) => {
      console.error(`build failed: ${err.message}`);
      process.exit(1);
    },
  );
}

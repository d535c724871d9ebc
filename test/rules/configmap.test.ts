import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { apiBundleFrom } from "../../components/api-bundle";
import { CONFIGMAP_LIMIT_BYTES, configMapBinaryBytes, fitsConfigMapBinary } from "../../rules/configmap";

describe("what fits a ConfigMap", () => {
  it("binaryData is base64: 4 bytes for every 3, rounded up", () => {
    expect(configMapBinaryBytes(3)).toBe(4);
    expect(configMapBinaryBytes(4)).toBe(8);
    expect(configMapBinaryBytes(786_431)).toBe(1_048_576);
  });

  it("the limit is on the encoded size, not on the gzip bytes", () => {
    // 800 000 gzip bytes are under 1 MiB, yet take 1 066 668 once encoded: they do not fit.
    expect(800_000).toBeLessThan(CONFIGMAP_LIMIT_BYTES);
    expect(fitsConfigMapBinary(800_000)).toBe(false);
    expect(fitsConfigMapBinary(786_000)).toBe(true);
  });

  it("the deploy's check agrees with the rule the build reports with", () => {
    // Random bytes do not compress: their gzip is a little larger than they are.
    for (const size of [700_000, 786_000, 790_000]) {
      const contents = randomBytes(size);
      const fits = fitsConfigMapBinary(gzipSync(contents, { level: 9 }).length);
      if (fits) expect(() => apiBundleFrom(contents)).not.toThrow();
      else expect(() => apiBundleFrom(contents)).toThrowError(/ConfigMap holds at most/);
    }
  });
});

import { describe, expect, it } from "vitest";
import { DEFAULT_ALLOWED_CONTENT_TYPES } from "../../api/config";
import { essence, isAllowedContentType } from "../../api/content-types";

describe("allowed content types", () => {
  it("reduces a header to type/subtype", () => {
    expect(essence("Text/Plain; charset=UTF-8")).toBe("text/plain");
    expect(essence("nonsense")).toBeUndefined();
    expect(essence("text/")).toBeUndefined();
    expect(essence(undefined)).toBeUndefined();
  });

  it("matches exact types and type/* wildcards", () => {
    const allowed = DEFAULT_ALLOWED_CONTENT_TYPES;
    for (const ok of [
      "application/json",
      "application/pdf",
      "application/zip",
      "text/csv",
      "image/png",
      "TEXT/plain; charset=utf-8",
    ]) {
      expect(isAllowedContentType(ok, allowed), ok).toBe(true);
    }
    for (const bad of ["application/x-msdownload", "video/mp4", "application/jsonp", "text", "", undefined]) {
      expect(isAllowedContentType(bad, allowed), String(bad)).toBe(false);
    }
  });

  it("*/* allows everything well-formed", () => {
    expect(isAllowedContentType("video/mp4", ["*/*"])).toBe(true);
    expect(isAllowedContentType("garbage", ["*/*"])).toBe(false);
  });
});

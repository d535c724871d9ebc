import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/errors";
import { resolveExpiry } from "../../api/expiry";

const presign = { defaultSeconds: 900, maxSeconds: 3600 };
const now = new Date("2026-01-01T00:00:00Z");

describe("presign expiry", () => {
  it("the default when none is asked for", () => {
    expect(resolveExpiry(undefined, presign, now)).toEqual({ seconds: 900, expiresAt: "2026-01-01T00:15:00.000Z" });
  });

  it("what is asked for, up to and including the maximum", () => {
    expect(resolveExpiry(1, presign, now).seconds).toBe(1);
    expect(resolveExpiry(3600, presign, now).expiresAt).toBe("2026-01-01T01:00:00.000Z");
  });

  it("refuses above the maximum instead of clamping", () => {
    const refuse = () => resolveExpiry(3601, presign, now);
    expect(refuse).toThrow(ApiError);
    expect(refuse).toThrow(/at most 3600/);
    try {
      refuse();
    } catch (err) {
      expect(err).toMatchObject({ statusCode: 400, code: "EXPIRY_TOO_LONG" });
    }
  });

  it("refuses zero, negative and fractional lifetimes", () => {
    for (const bad of [0, -5, 1.5]) expect(() => resolveExpiry(bad, presign, now)).toThrow(/whole number/);
  });
});

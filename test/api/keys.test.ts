import { describe, expect, it } from "vitest";
import {
  artifactKey,
  CLIENT_NAME_PATTERN,
  decodeOriginalName,
  executionPrefix,
  isExecutionId,
  MAX_ORIGINAL_NAME_METADATA,
  MAX_SAFE_NAME_BYTES,
  originalNameMetadata,
  refusedKeyReason,
  refusedNameReason,
  resultKey,
  safeName,
  uploadKey,
} from "../../api/keys";

describe("safeName", () => {
  it.each([
    ["report.pdf", "report.pdf"],
    ["../../etc/passwd", "passwd"],
    ["C:\\Users\\me\\Desktop\\notes.txt", "notes.txt"],
    ["dir/sub/", ""],
    ["..", ""],
    ["...", ""],
    ["a..b.txt", "a.b.txt"],
    [".hidden", "hidden"],
    ["trailing. ", "trailing"],
    ["tab\tand\nnewline.txt", "tabandnewline.txt"],
    ["bell\u0007\u0000.txt", "bell.txt"],
    // U+202E RIGHT-TO-LEFT OVERRIDE disguises "evil‮fdp.exe" as "evilexe.pdf".
    ["evil\u202Efdp.exe", "evilfdp.exe"],
    ["zero\u200Bwidth.txt", "zerowidth.txt"],
    ['what?<is>:"this"|*.txt', "what__is___this___.txt"],
    ["many    spaces.txt", "many spaces.txt"],
  ])("%j -> %j", (input, expected) => {
    expect(safeName(input)).toBe(expected);
  });

  it("normalises Unicode (NFKC), so look-alikes of '.' and '/' are stripped too", () => {
    expect(safeName("e\u0301te\u0301.txt")).toBe("été.txt"); // decomposed -> composed
    expect(safeName("\uFF0E\uFF0E\uFF0Fsecret.txt")).toBe("secret.txt"); // full-width ../
    expect(safeName("ﬁle.txt")).toBe("file.txt"); // ligature
  });

  it("bounds the length in UTF-8 bytes and keeps the extension", () => {
    const long = `${"é".repeat(300)}.tar.gz`;
    const safe = safeName(long);
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(MAX_SAFE_NAME_BYTES);
    expect(safe.endsWith(".gz")).toBe(true);
    expect(safe.startsWith("éé")).toBe(true);
    expect(safeName("x".repeat(1000))).toHaveLength(MAX_SAFE_NAME_BYTES);
  });

  it("never cuts a multi-byte character in half", () => {
    const safe = safeName("😀".repeat(100));
    expect(safe).toBe("😀".repeat(MAX_SAFE_NAME_BYTES / 4));
  });
});

describe("refusedNameReason", () => {
  it("accepts ordinary names, Unicode and full Windows paths", () => {
    expect(refusedNameReason("report.pdf")).toBeUndefined();
    expect(refusedNameReason("Übersicht 2026 (final).xlsx")).toBeUndefined();
    expect(refusedNameReason("C:\\Users\\me\\report.pdf")).toBeUndefined();
  });

  it.each([
    ["../../etc/passwd", /\.\./],
    ["..\\..\\windows\\system.ini", /\.\./],
    ["\uFF0E\uFF0E/x", /\.\./],
    ["bell\u0007.txt", /control/],
    ["line\nbreak.txt", /control/],
    ["a/\u2025/b", /\.\./],
    ["x".repeat(1025), /too long/],
  ])("refuses %j", (name, reason) => {
    expect(refusedNameReason(name)).toMatch(reason);
    // The OpenAPI document's pattern says the same.
    expect(new RegExp(CLIENT_NAME_PATTERN, "u").test(name) && name.length <= 1024).toBe(false);
  });

  it("the document's pattern accepts what the server accepts", () => {
    for (const name of ["report.pdf", "a..b.txt", "...", "\u202E", "C:\\x\\y.pdf", "\u2028x", "..a"]) {
      expect(refusedNameReason(name), name).toBeUndefined();
      expect(new RegExp(CLIENT_NAME_PATTERN, "u").test(name), name).toBe(true);
    }
  });
});

describe("object keys", () => {
  it("uploads/<yyyy>/<mm>/<dd>/<uuid>/<safe-name>, dated in UTC", () => {
    const key = uploadKey("report.pdf", new Date("2026-01-02T23:59:59-05:00"), "0b6f7c1e-1111-4222-8333-444455556666");
    expect(key).toBe("uploads/2026/01/03/0b6f7c1e-1111-4222-8333-444455556666/report.pdf");
  });

  it("a fresh uuid per upload, so equal names never collide", () => {
    expect(uploadKey("a.txt")).not.toBe(uploadKey("a.txt"));
    expect(uploadKey("a.txt")).toMatch(/^uploads\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\/a\.txt$/);
  });

  it("execution ids: strict pattern", () => {
    for (const ok of ["run-1", "0b6f7c1e-1111-4222-8333-444455556666", "A_b-9", "x".repeat(128)]) {
      expect(isExecutionId(ok), ok).toBe(true);
    }
    for (const bad of ["", "-run", "_run", "run/1", "..", "run.1", "run 1", "run%2F1", "é", "x".repeat(129), "a\n"]) {
      expect(isExecutionId(bad), bad).toBe(false);
    }
    expect(executionPrefix("run-1")).toBe("executions/run-1/");
    expect(artifactKey("run-1", "7d1e", "out.csv")).toBe("executions/run-1/7d1e/out.csv");
    expect(resultKey("run-1")).toBe("executions/run-1/result.json");
    expect(() => executionPrefix("../x")).toThrow(/not an execution id/);
  });
});

describe("keys a client names for a download", () => {
  it("refuses empty, '.' and '..' segments, which the API never writes", () => {
    for (const bad of ["uploads/../x", "uploads/./x", "uploads//x", "/uploads/x", "uploads/x/", ".."]) {
      expect(refusedKeyReason(bad), bad).toMatch(/segment/);
    }
    for (const ok of ["uploads/2026/01/02/id/a..b.txt", "executions/run-1/result.json", "x"]) {
      expect(refusedKeyReason(ok), ok).toBeUndefined();
    }
  });
});

describe("original name metadata", () => {
  it("round-trips any name through ASCII-only metadata", () => {
    const name = "Übersicht «2026» 報告.pdf";
    const meta = originalNameMetadata(name);
    expect(meta).toMatch(/^[\x21-\x7e]+$/);
    expect(decodeOriginalName(meta)).toBe(name);
  });

  it("drops invisible characters and bounds the length without a broken escape", () => {
    expect(decodeOriginalName(originalNameMetadata("a\u0000b\u202Ec"))).toBe("abc");
    const meta = originalNameMetadata("報".repeat(1000));
    expect(meta.length).toBeLessThanOrEqual(MAX_ORIGINAL_NAME_METADATA);
    expect(decodeOriginalName(meta)).toMatch(/^報+$/);
  });

  it("reads nothing from missing or malformed metadata", () => {
    expect(decodeOriginalName(undefined)).toBeUndefined();
    expect(decodeOriginalName("%E0%A4%A")).toBeUndefined();
  });
});

import { describe, expect, it } from "vitest";
import { asciiFallback, contentDisposition, encodeRfc5987 } from "../../api/content-disposition";

describe("Content-Disposition (RFC 6266 / RFC 5987)", () => {
  it("plain ASCII names", () => {
    expect(contentDisposition("report.pdf")).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
  });

  it("UTF-8 names: an ASCII fallback plus the exact name, percent-encoded", () => {
    expect(contentDisposition("Übersicht 報告.pdf")).toBe(
      `attachment; filename="Ubersicht __.pdf"; filename*=UTF-8''%C3%9Cbersicht%20%E5%A0%B1%E5%91%8A.pdf`,
    );
  });

  it("escapes what attr-char does not allow, including ' ( ) * that encodeURIComponent leaves", () => {
    expect(encodeRfc5987("it's (1)*.txt")).toBe("it%27s%20%281%29%2A.txt");
    expect(encodeRfc5987("a!#$&+-.^_`|~b")).toBe("a!%23%24%26%2B-.%5E_%60%7C~b");
    expect(decodeURIComponent(encodeRfc5987("x'y(z)*é"))).toBe("x'y(z)*é");
  });

  it("the fallback never breaks out of its quotes", () => {
    expect(asciiFallback('a"b\\c%d\r\n.txt')).toBe("a_b_c_d__.txt");
    expect(contentDisposition('"; filename="evil.exe')).toBe(
      `attachment; filename="_; filename=_evil.exe"; filename*=UTF-8''%22%3B%20filename%3D%22evil.exe`,
    );
  });

  it("inline disposition on request", () => {
    expect(contentDisposition("a.png", "inline")).toMatch(/^inline; /);
  });
});

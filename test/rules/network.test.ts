import { describe, expect, it } from "vitest";
import { cidrProblem, endpointUrlProblem, isWideOpenCidr, redactUrlCredentials } from "../../rules/network";

describe("cidrProblem", () => {
  it.each(["10.0.0.0/8", "10.20.0.0/16", "192.168.1.0/24", "10.20.30.40/32", "0.0.0.0/0", "255.255.255.255/32"])(
    "accepts %s",
    (cidr) => {
      expect(cidrProblem(cidr)).toBeUndefined();
    },
  );

  it.each([
    ["office", /not written a\.b\.c\.d\/n/],
    ["10.0.0.0", /not written a\.b\.c\.d\/n/],
    ["10.0.0/8", /not written a\.b\.c\.d\/n/],
    ["010.0.0.0/8", /no leading zeros/],
    ["10.0.0.0/08", /no leading zeros/],
    [" 10.0.0.0/8", /not written/],
    ["10.0.0.300/8", /^octet 300 is above 255$/],
    ["256.0.0.0/8", /^octet 256 is above 255$/],
    ["10.0.0.0/33", /^prefix \/33 is longer than 32 bits$/],
    ["10.0.0.1/8", /^host bits are set beyond the \/8 prefix \(the network is 10\.0\.0\.0\/8\)$/],
    ["192.168.1.130/25", /the network is 192\.168\.1\.128\/25/],
    ["1.2.3.4/0", /the network is 0\.0\.0\.0\/0/],
  ])("refuses %s", (cidr, expected) => {
    expect(cidrProblem(cidr)).toMatch(expected);
  });

  it("tells a CIDR that admits every address", () => {
    expect(isWideOpenCidr("0.0.0.0/0")).toBe(true);
    expect(isWideOpenCidr("10.0.0.0/8")).toBe(false);
    expect(isWideOpenCidr("1.2.3.4/0")).toBe(false);
  });
});

describe("endpointUrlProblem", () => {
  it.each([
    "http://127.0.0.1:9000",
    "https://files.example.com",
    "http://minio.ns.svc.cluster.local:9000",
    "http://[::1]:9000",
  ])("accepts %s", (url) => {
    expect(endpointUrlProblem(url)).toBeUndefined();
  });

  it.each([
    ["127.0.0.1:9000", /must be an http\(s\) URL/],
    ["ftp://host", /must be an http\(s\) URL/],
    ["http://", /must be an http\(s\) URL/],
    ["http://host:99999", /must be an http\(s\) URL/],
    ["http://host /x", /without whitespace/],
    ["http://host/", /no path, query or fragment/],
    ["http://host/bucket", /no path, query or fragment/],
    ["http://host?x=1", /no path, query or fragment/],
    ["http://host#top", /no path, query or fragment/],
    ["http://user:secret@host", /must not hold credentials/],
    ["http://user@host:9000", /must not hold credentials/],
    ["http://user:p/ss@host", /must not hold credentials/],
  ])("refuses %s", (url, expected) => {
    const problem = endpointUrlProblem(url);
    expect(problem).toMatch(expected);
    expect(problem).not.toContain("secret");
  });

  it("masks whatever could be credentials when a URL is shown", () => {
    expect(redactUrlCredentials("http://user:secret@host:9000")).toBe("http://***@host:9000");
    expect(redactUrlCredentials("https://u:p/ss@w@host")).toBe("https://***@host");
    expect(redactUrlCredentials("user:secret@host")).toBe("***@host");
    expect(redactUrlCredentials("http://host:9000/path")).toBe("http://host:9000/path");
  });
});

import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { bearerAuth, requireScope } from "../../api/auth";
import type { ApiKey } from "../../rules/api-keys";

const keys: ApiKey[] = [
  { name: "studio", key: "first-key-0123456789", scopes: ["upload", "download"] },
  { name: "ci", key: "second-key-abcdefghij", scopes: ["artifacts:write"] },
];
const check = bearerAuth(keys);
const bindings: Record<string, unknown>[] = [];
const logger = {
  child: (b: Record<string, unknown>) => {
    bindings.push(b);
    return logger;
  },
} as unknown as FastifyBaseLogger;
const request = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization }, log: logger }) as FastifyRequest;

describe("bearer API keys", () => {
  it("accepts every configured key (rotation) and knows the request by the key's name", () => {
    const first = request(`Bearer ${keys[0]?.key}`);
    check(first);
    expect(first.client).toEqual({ name: "studio", scopes: ["upload", "download"] });
    const second = request(`bearer  ${keys[1]?.key} `);
    check(second);
    expect(second.client?.name).toBe("ci");
    // Logs carry the name, never the key.
    expect(bindings.at(-1)).toEqual({ key: "ci" });
    expect(JSON.stringify(bindings)).not.toContain(keys[1]?.key);
  });

  it("refuses a missing, malformed or unknown token with 401", () => {
    for (const header of [undefined, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", `Token ${keys[0]?.key}`]) {
      expect(() => check(request(header)), String(header)).toThrow(
        expect.objectContaining({ statusCode: 401, message: "missing bearer token" }),
      );
    }
    for (const header of [
      `Bearer ${keys[0]?.key}x`,
      `Bearer ${keys[0]?.key.slice(0, -1)}`,
      "Bearer first-key",
      `Bearer ${keys[0]?.key.toUpperCase()}`,
    ]) {
      expect(() => check(request(header)), header).toThrow(
        expect.objectContaining({ statusCode: 401, message: "invalid bearer token" }),
      );
    }
  });

  it("asks for a bearer token in WWW-Authenticate", () => {
    expect(() => check(request())).toThrow(expect.objectContaining({ headers: { "www-authenticate": "Bearer" } }));
  });

  it("a key out of scope gets 403 naming the key's name and the scope", () => {
    const r = request(`Bearer ${keys[1]?.key}`);
    check(r);
    expect(() => requireScope(r, "artifacts:write")).not.toThrow();
    expect(() => requireScope(r, "upload")).toThrow(
      expect.objectContaining({ statusCode: 403, code: "FORBIDDEN", message: expect.stringMatching(/"ci".*"upload"/) }),
    );
  });
});

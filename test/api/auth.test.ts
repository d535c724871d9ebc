import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { bearerAuth } from "../../api/auth";

const keys = ["first-key-0123456789", "second-key-abcdefghij"];
const check = bearerAuth(keys);
const request = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as FastifyRequest;

describe("bearer API keys", () => {
  it("accepts every configured key (rotation)", () => {
    expect(() => check(request(`Bearer ${keys[0]}`))).not.toThrow();
    expect(() => check(request(`bearer  ${keys[1]} `))).not.toThrow();
  });

  it("refuses a missing, malformed or unknown token with 401", () => {
    for (const header of [undefined, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", `Token ${keys[0]}`]) {
      expect(() => check(request(header)), String(header)).toThrow(
        expect.objectContaining({ statusCode: 401, message: "missing bearer token" }),
      );
    }
    for (const header of [
      `Bearer ${keys[0]}x`,
      `Bearer ${keys[0]?.slice(0, -1)}`,
      "Bearer first-key",
      `Bearer ${keys[0]?.toUpperCase()}`,
    ]) {
      expect(() => check(request(header)), header).toThrow(
        expect.objectContaining({ statusCode: 401, message: "invalid bearer token" }),
      );
    }
  });

  it("asks for a bearer token in WWW-Authenticate", () => {
    try {
      check(request());
      expect.unreachable();
    } catch (err) {
      expect((err as { headers: Record<string, string> }).headers["www-authenticate"]).toBe("Bearer");
    }
  });
});

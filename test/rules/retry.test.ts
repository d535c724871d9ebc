// Waiting out a MinIO that is not ready yet (providers and API), without a server.
import { describe, expect, it } from "vitest";
import { retryWhile } from "../../rules/retry";

const failing = (codes: string[]) => {
  let calls = 0;
  const work = async () => {
    const code = codes[calls++];
    if (code) throw Object.assign(new Error(code), { code });
    return calls;
  };
  return { work, calls: () => calls };
};
const passesBusy = (err: unknown) => (err as { code?: string }).code === "BUSY";

describe("retryWhile", () => {
  it("asks again while the failure passes, and answers the first success", async () => {
    const { work } = failing(["BUSY", "BUSY"]);
    expect(await retryWhile(work, { passes: passesBusy, forMs: 1000, everyMs: 1 })).toBe(3);
  });

  it("lets any other failure through at once", async () => {
    const { work, calls } = failing(["BUSY", "DENIED", "BUSY"]);
    await expect(retryWhile(work, { passes: passesBusy, forMs: 1000, everyMs: 1 })).rejects.toThrow("DENIED");
    expect(calls()).toBe(2);
  });

  it("gives up with the last failure once the time is over", async () => {
    const { work, calls } = failing(Array.from({ length: 1000 }, () => "BUSY"));
    await expect(retryWhile(work, { passes: passesBusy, forMs: 30, everyMs: 10 })).rejects.toThrow("BUSY");
    expect(calls()).toBeLessThan(10);
  });
});

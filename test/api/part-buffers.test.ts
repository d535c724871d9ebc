// The buffer budget on its own: how many buffers exist, who gets the next one, and the answer to an
// upload that waits too long.
import { describe, expect, it } from "vitest";
import { PartBufferPool } from "../../api/part-buffers";

describe("PartBufferPool", () => {
  it("makes no more buffers than its budget, and reuses the ones given back", () => {
    const pool = new PartBufferPool(1024, 2);
    const a = pool.tryTake();
    const b = pool.tryTake();
    expect(a?.length).toBe(1024);
    expect(b).toBeDefined();
    expect(pool.tryTake()).toBeUndefined();
    pool.give(a as Buffer);
    expect(pool.tryTake()).toBe(a);
    expect(pool.allocated).toBe(2);
  });

  it("hands freed buffers to the waiting uploads in turn; tryTake never jumps the queue", async () => {
    const pool = new PartBufferPool(1024, 1);
    const held = await pool.take();
    const order: string[] = [];
    const inTurn = (name: string) =>
      pool.take().then((buffer) => {
        order.push(name);
        return buffer;
      });
    const first = inTurn("first");
    const second = inTurn("second");
    expect(pool.contended).toBe(true);
    pool.give(held);
    expect(pool.tryTake()).toBeUndefined();
    pool.give(await first);
    await second;
    expect(order).toEqual(["first", "second"]);
    expect(pool.contended).toBe(false);
    expect(pool.allocated).toBe(1);
  });

  it("answers 503 TOO_BUSY with Retry-After to an upload that waited too long, and leaves the queue", async () => {
    const pool = new PartBufferPool(1024, 1);
    const held = await pool.take();
    await expect(pool.take(50)).rejects.toMatchObject({
      statusCode: 503,
      code: "TOO_BUSY",
      headers: { "retry-after": "5" },
    });
    expect(pool.contended).toBe(false);
    pool.give(held);
    expect(pool.tryTake()).toBe(held);
  });
});

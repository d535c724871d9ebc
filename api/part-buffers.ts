// The process's part buffers, under one budget. A streamed upload receives its file into a part
// buffer (S3's parts are 5 MiB and more) while the previous part is sent. Giving every upload its
// own buffers made memory grow with the uploads in flight (32 at once: 350 MiB); with a budget, an
// upload that finds no buffer free waits for one without reading its request, so its client's
// socket fills and pauses (TCP back-pressure), and MinIO, the real bottleneck, stays as busy.
import { PART_BUFFER_BUDGET_BYTES, PART_BUFFER_WAIT_MS } from "../rules/api-settings";
import { tooBusy } from "./errors";

/** Part buffers of one size, at most `budget` of them; handed out first come, first served. */
export class PartBufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((buffer: Buffer) => void)[] = [];
  private made = 0;

  constructor(
    readonly partSize: number,
    readonly budget: number,
  ) {}

  /** Buffers made so far: never more than the budget. */
  get allocated(): number {
    return this.made;
  }

  /** Someone waits for a buffer: whoever holds a second one should give it back. */
  get contended(): boolean {
    return this.waiting.length > 0;
  }

  /** A buffer now, or undefined: never makes anyone wait, never jumps the queue. */
  tryTake(): Buffer | undefined {
    if (this.waiting.length > 0) return undefined;
    const buffer = this.free.pop();
    if (buffer) return buffer;
    if (this.made >= this.budget) return undefined;
    this.made += 1;
    return Buffer.allocUnsafeSlow(this.partSize);
  }

  /** A buffer, waiting for one if need be: 503 TOO_BUSY when none frees within `waitMs`. */
  take(waitMs = PART_BUFFER_WAIT_MS): Promise<Buffer> {
    const buffer = this.tryTake();
    if (buffer) return Promise.resolve(buffer);
    return new Promise((resolve, reject) => {
      const handOver = (given: Buffer) => {
        clearTimeout(timer);
        resolve(given);
      };
      // Below the socket's idle timeout (60 s), so the client gets this answer, not a cut connection.
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(handOver), 1);
        reject(tooBusy("this instance's upload buffers are all in use"));
      }, waitMs);
      this.waiting.push(handOver);
    });
  }

  give(buffer: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }
}

const pools = new Map<number, PartBufferPool>();

/** The process's pool for parts of `partSize`: as many buffers as the budget holds, two at least. */
export function partBufferPool(partSize: number): PartBufferPool {
  let pool = pools.get(partSize);
  if (!pool) {
    pool = new PartBufferPool(partSize, Math.max(2, Math.floor(PART_BUFFER_BUDGET_BYTES / partSize)));
    pools.set(partSize, pool);
  }
  return pool;
}

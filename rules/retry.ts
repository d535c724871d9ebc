// One way to wait out a MinIO that is not ready for a call yet, for the providers and the API: ask
// again while the failure is one that passes (a cluster still starting, a tier not yet known to
// every node, a tier still draining, MinIO unreachable right after a write), for a bounded time, and
// let any other failure through at once.

export interface RetryWhile {
  /** Whether this failure is worth asking again for. */
  passes(err: unknown): boolean;
  /** How long to go on asking. */
  forMs: number;
  /** The pause between two attempts. */
  everyMs: number;
}

/** Runs `work` until it succeeds, a failure that does not pass, or `forMs` is over (its last failure). */
export async function retryWhile<T>(work: () => Promise<T>, rule: RetryWhile): Promise<T> {
  const deadline = Date.now() + rule.forMs;
  for (;;) {
    try {
      return await work();
    } catch (err) {
      if (!rule.passes(err) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, rule.everyMs));
    }
  }
}

// Requests in bursts: calls made while the previous burst is in flight wait for it, then start
// together in one tick, where the Redis client's auto-pipelining sends them as one request. A
// thousand sockets opening at once then cost a few requests instead of a thousand (each request
// leaves garbage behind that costs the web server resident memory).
export class Bursts {
  /** Settles when the last burst started so far has settled. */
  #last: Promise<unknown> = Promise.resolve();
  /** The burst that takes new calls: it starts when the one before it has settled. */
  #open: { start: Promise<void>; calls: Promise<unknown>[] } | null = null;

  run<R>(call: () => Promise<R>): Promise<R> {
    const burst = this.#open ?? this.#next();
    const result = burst.start.then(call);
    burst.calls.push(result);
    return result;
  }

  #next() {
    const calls: Promise<unknown>[] = [];
    const burst = {
      calls,
      start: this.#last.then(() => {
        if (this.#open === burst) this.#open = null;
      }),
    };
    this.#open = burst;
    this.#last = burst.start.then(() => Promise.allSettled(calls));
    return burst;
  }
}

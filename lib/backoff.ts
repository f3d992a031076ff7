// Adaptive polling: real Upstash has no blocking stream reads, so readers poll, quickly while
// work flows and ever more slowly when idle.

export class AdaptiveDelay {
  #current: number;
  #lastHit = -Infinity;

  /**
   * @param warmMs for this long after work arrived, stay at or under `warmMax`: turns tend to
   *   come in bursts, and a cold back-off would add its whole delay to the next one.
   */
  constructor(
    readonly min: number,
    readonly max: number,
    readonly warmMs = 0,
    readonly warmMax = min,
  ) {
    this.#current = min;
  }
  /** Work arrived: poll again right away. */
  hit(): void {
    this.#current = this.min;
    this.#lastHit = Date.now();
  }
  /** Nothing arrived: wait longer next time, never beyond `cap`. */
  miss(cap = this.max): number {
    const warm = Date.now() - this.#lastHit < this.warmMs;
    const limit = warm ? Math.min(cap, this.warmMax) : cap;
    this.#current = Math.min(limit, Math.max(this.min, this.#current * 2));
    return this.#current;
  }
}

/** A sleep that `wake()` ends early, so new work is not stuck behind an idle back-off. */
export class Waker {
  #wake: (() => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pending = false;

  sleep(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => this.wake(), ms);
    });
  }

  wake(): void {
    clearTimeout(this.#timer);
    const wake = this.#wake;
    this.#wake = null;
    if (wake) wake();
    else this.#pending = true;
  }
}

// Adaptive polling: real Upstash has no blocking stream reads, so readers poll, quickly while
// work flows and ever more slowly when idle.

export class AdaptiveDelay {
  #current: number;
  constructor(readonly min: number, readonly max: number) {
    this.#current = min;
  }
  get current(): number {
    return this.#current;
  }
  /** Work arrived: poll again right away. */
  hit(): void {
    this.#current = this.min;
  }
  /** Nothing arrived: wait longer next time, never beyond `cap`. */
  miss(cap = this.max): number {
    this.#current = Math.min(cap, Math.max(this.min, this.#current * 2));
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

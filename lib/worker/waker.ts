// A sleep that work can cut short: the worker's intake waits on its slow tick, and a push or a
// freed slot wakes it at once.

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

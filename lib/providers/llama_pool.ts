// Concurrency plumbing of the embedded model: a fixed pool of context sequences handed to turns in
// FIFO order, and a queue that turns llama.cpp's text callbacks into an async stream.

/** A fixed set of context sequences; turns beyond it wait in FIFO order. */
export class SequencePool<Sequence> {
  #free: Sequence[];
  #closed = false;
  #waiters: Array<(sequence: Sequence | undefined) => void> = [];
  readonly limit: number;

  constructor(sequences: Sequence[]) {
    this.#free = [...sequences];
    this.limit = sequences.length;
  }

  get active() {
    return this.limit - this.#free.length;
  }
  get waiting() {
    return this.#waiters.length;
  }

  /** Resolves with a sequence, or undefined when `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<Sequence | undefined> {
    if (signal.aborted || this.#closed) return Promise.resolve(undefined);
    const free = this.#free.shift();
    if (free) return Promise.resolve(free);
    return new Promise((resolve) => {
      const waiter = (sequence: Sequence | undefined) => {
        signal.removeEventListener("abort", onAbort);
        resolve(sequence);
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(undefined);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(sequence: Sequence) {
    const next = this.#waiters.shift();
    if (next) next(sequence);
    else this.#free.push(sequence);
  }

  /** Hands out nothing more: waiting turns end without a sequence. */
  close() {
    this.#closed = true;
    this.#free = [];
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}

/** Text chunks pushed by callbacks, pulled by an async generator. */
export class ChunkQueue {
  #items: string[] = [];
  #ended = false;
  #error: unknown;
  #wake?: () => void;

  push(text: string) {
    if (text) this.#items.push(text);
    this.#wake?.();
  }
  end(error?: unknown) {
    this.#ended = true;
    this.#error = error;
    this.#wake?.();
  }
  async *drain(): AsyncGenerator<string> {
    while (true) {
      if (this.#items.length) {
        yield this.#items.splice(0).join("");
        continue;
      }
      if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }
}

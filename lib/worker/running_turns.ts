// The turns a worker runs now, and the ones it finished lately: a turn can reach a worker twice
// (handed over, then found again among its own pending turns), and must run once.
import type { QueuedTurn } from "../redis/queued_turn.ts";
import type { TurnStats } from "./metrics.ts";

export interface Running {
  turn: QueuedTurn;
  abort: AbortController;
  stats: TurnStats;
  started: number;
}

/** Entry ids remembered after their turn ended: far more than a worker finishes in a read's time. */
const RECENT = 1024;

export class RunningTurns {
  readonly #now = new Map<string, Running>();
  readonly #ended = new Set<string>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.#now.size;
  }

  /** Free slots (never below 0). */
  get free(): number {
    return Math.max(0, this.capacity - this.#now.size);
  }

  /** The entry ids running now. */
  ids(): string[] {
    return [...this.#now.keys()];
  }

  values(): IterableIterator<Running> {
    return this.#now.values();
  }

  /** Starts tracking a turn; null when it runs already or ended lately (run it once). */
  start(turn: QueuedTurn, now = performance.now()): Running | null {
    if (this.#now.has(turn.entryId) || this.#ended.has(turn.entryId)) return null;
    const running = {
      turn,
      abort: new AbortController(),
      stats: { tokens: 0, outcome: "left" },
      started: now,
    };
    this.#now.set(turn.entryId, running);
    return running;
  }

  /** Ends a turn; true when the worker was full until now (turns may wait undelivered). */
  end(entryId: string): boolean {
    const wasFull = this.#now.size >= this.capacity;
    if (!this.#now.delete(entryId)) return false;
    this.#ended.add(entryId);
    if (this.#ended.size > RECENT) this.#ended.delete(this.#ended.values().next().value!);
    return wasFull;
  }

  /** The running turn for `turn`, if any. */
  of(turn: QueuedTurn): Running | undefined {
    return this.#now.get(turn.entryId);
  }
}

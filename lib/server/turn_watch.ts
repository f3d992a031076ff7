// Watches the turns a socket waits on and ends the ones no worker will finish, so a reply never
// hangs: a Stop not honoured within the grace period (no worker is running it), or a turn whose
// worker died and that no other worker claimed in time. Redis decides atomically (END_ABANDONED),
// so several sockets or servers watching one turn are harmless.
import type { AbandonOutcome } from "../redis/turn_queue.ts";

export type EndMode = "stop" | "orphan";

/** How long a stopped reply may take to end before the server ends it itself. */
export const STOP_GRACE_MS = 1500;

export class TurnWatch {
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** When each turn last showed progress: a delta only notes the time (no timer re-armed). */
  readonly #lastSeen = new Map<string, number>();
  readonly #stopping = new Set<string>();
  #closed = false;

  constructor(
    private readonly end: (turn: string, mode: EndMode) => Promise<AbandonOutcome>,
    /** Silence after which a turn's worker may be gone: the claim idle time plus a margin. */
    private readonly orphanAfterMs: number,
    private readonly stopGraceMs = STOP_GRACE_MS,
    private readonly onError: (err: unknown, turn: string) => void = () => {},
  ) {}

  /** A turn this socket waits on; also any sign of progress on it (restarts the clock). */
  expect(turn: string): void {
    if (this.#stopping.has(turn)) return;
    this.#lastSeen.set(turn, Date.now());
    if (!this.#timers.has(turn)) this.#arm(turn, "orphan", this.orphanAfterMs);
  }

  /** The user asked to stop the turn: it ends within the grace period, worker or not. */
  stopped(turn: string): void {
    this.#stopping.add(turn);
    this.#arm(turn, "stop", this.stopGraceMs);
  }

  /** The turn's done or error arrived. */
  settled(turn: string): void {
    clearTimeout(this.#timers.get(turn));
    this.#timers.delete(turn);
    this.#lastSeen.delete(turn);
    this.#stopping.delete(turn);
  }

  get watching(): number {
    return this.#timers.size;
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#lastSeen.clear();
  }

  #arm(turn: string, mode: EndMode, ms: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timers.get(turn));
    this.#timers.set(turn, setTimeout(() => this.#fire(turn, mode), ms));
  }

  async #fire(turn: string, mode: EndMode): Promise<void> {
    if (mode === "orphan") {
      const quiet = Date.now() - (this.#lastSeen.get(turn) ?? 0);
      if (quiet < this.orphanAfterMs) return this.#arm(turn, "orphan", this.orphanAfterMs - quiet);
    }
    let outcome: AbandonOutcome | "error";
    try {
      outcome = await this.end(turn, mode);
    } catch (err) {
      this.onError(err, turn);
      outcome = "error";
    }
    if (!this.#timers.has(turn)) return; // settled meanwhile
    if (outcome === "ended" || outcome === "finished" || outcome === "session_gone") {
      this.settled(turn);
    } else if (mode === "stop") {
      // A write raced us ('changed') or Redis failed: look again soon, the user is waiting.
      this.#arm(turn, "stop", 300);
    } else {
      this.#arm(turn, "orphan", this.orphanAfterMs);
    }
  }
}

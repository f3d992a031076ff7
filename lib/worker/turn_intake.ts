// How a worker learns of turns: a push on the wake channel the moment one is queued, and a slow
// tick that claims turns dead workers left, reads anything a lost push missed and carries the
// worker's announcement and heartbeat, all in one request.
import { Waker } from "./waker.ts";
import type { QueuedTurn, TurnQueue } from "../redis/turn_queue.ts";

export interface WakeSource {
  /** Calls `wake` on every push (and on every re-subscribe, when pushes may have been lost). */
  start(wake: () => void): void;
  close(): void;
}

export interface IntakeOptions {
  consumer: string;
  claimIdleMs: number;
  /** The slow tick; pushes make it a fallback. */
  tickMs: number;
  announceEveryMs: number;
  heartbeatEveryMs: number;
  /** Turns this worker may take now (0 while busy or while its model cannot serve). */
  free(): number;
  /** The worker's announcement, sent with the tick when due. */
  announcement(): string;
  take(turn: QueuedTurn, claimed: boolean): void;
  log(line: string): void;
}

export class TurnIntake {
  readonly #waker = new Waker();
  #wanted = true;
  #stopping = false;
  #nextTick = 0;
  #nextClaim = 0;
  #nextAnnounce = 0;
  #nextHeartbeat = 0;

  constructor(
    private readonly queue: TurnQueue,
    private readonly opts: IntakeOptions,
    private readonly wakeups?: WakeSource,
  ) {}

  /** Read now: a turn was pushed, or a slot freed up while more may be waiting. */
  wake(): void {
    this.#wanted = true;
    this.#waker.wake();
  }

  /** A slot freed up: the loop reads again at once if the last read may have left turns behind. */
  slotFreed(): void {
    this.#waker.wake();
  }

  stop(): void {
    this.#stopping = true;
    this.wakeups?.close();
    this.#waker.wake();
  }

  async run(): Promise<void> {
    this.wakeups?.start(() => this.wake());
    let backlog = false;
    while (!this.#stopping) {
      const free = this.opts.free();
      const now = Date.now();
      const tick = now >= this.#nextTick;
      if (free > 0 && (tick || this.#wanted || backlog)) {
        this.#wanted = false;
        try {
          const got = await this.#visit(now, tick, free);
          backlog = got >= free;
        } catch (err) {
          this.opts.log(`reading turns failed: ${err instanceof Error ? err.message : err}`);
          backlog = false;
        }
        if (tick) this.#nextTick = now + this.opts.tickMs;
        if (backlog) continue;
      }
      const wait = free > 0 ? Math.max(0, this.#nextTick - Date.now()) : 1000;
      await this.#waker.sleep(wait);
    }
  }

  async #visit(now: number, tick: boolean, free: number): Promise<number> {
    const claim = tick && now >= this.#nextClaim;
    if (claim) this.#nextClaim = now + Math.max(1000, this.opts.claimIdleMs / 2);
    const announce = tick && now >= this.#nextAnnounce;
    if (announce) this.#nextAnnounce = now + this.opts.announceEveryMs;
    const heartbeat = tick && this.wakeups !== undefined && now >= this.#nextHeartbeat;
    if (heartbeat) this.#nextHeartbeat = now + this.opts.heartbeatEveryMs;
    const { claimed, fresh } = await this.queue.poll(this.opts.consumer, {
      count: free,
      claimIdleMs: claim ? this.opts.claimIdleMs : undefined,
      announce: announce ? this.opts.announcement() : undefined,
      heartbeat,
    });
    if (claimed.length) this.opts.log(`claimed ${claimed.length} turn(s) left by a dead worker`);
    // Claim and read share one request, so together they may exceed `free` by up to `free`:
    // those turns are ours now (pending under our name), so they run, a little over the limit.
    for (const turn of claimed) this.opts.take(turn, true);
    for (const turn of fresh) this.opts.take(turn, false);
    return claimed.length + fresh.length;
  }
}

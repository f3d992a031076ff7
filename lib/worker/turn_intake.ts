// How a worker learns of turns: a push on the wake channel the moment one is queued, and a slow
// tick that claims turns dead workers left, reads anything a lost push missed and carries the
// worker's announcement and heartbeat, all in one request.
import { Waker } from "./waker.ts";
import type { QueuedTurn, TurnQueue } from "../redis/turn_queue.ts";
import type { WakeHint } from "../redis/reply_hint.ts";
import type { WorkerStatus } from "../redis/worker_registry.ts";
import type { Message } from "../contract/frames.ts";

export interface WakeSource {
  /**
   * Calls `wake` on every push (with the turn it names, if any) and on every re-subscribe (null:
   * pushes may have been lost).
   */
  start(wake: (named: WakeHint | null) => void): void;
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
  announcement(): WorkerStatus;
  /** `history`: the turn's conversation, when it came with the read. */
  take(turn: QueuedTurn, claimed: boolean, history?: Message[]): void;
  log(line: string): void;
}

export class TurnIntake {
  readonly #waker = new Waker();
  #wanted = true;
  #named: WakeHint | null = null;
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

  /** Read now: a turn was pushed (`named`: the latest one's session), or pushes may be lost. */
  wake(named: WakeHint | null = null): void {
    this.#wanted = true;
    this.#named = named;
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
    this.wakeups?.start((named) => this.wake(named));
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
    const named = this.#named;
    this.#named = null;
    if (named && !tick) {
      const { fresh, prefetched } = await this.queue.take(this.opts.consumer, free, named);
      for (const turn of fresh) {
        const history = turn.entryId === prefetched?.entryId ? prefetched.history : undefined;
        this.opts.take(turn, false, history);
      }
      return fresh.length;
    }
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

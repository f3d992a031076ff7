// How a worker learns of turns: the web server hands each new turn to a worker with a free slot
// (with its conversation) on that worker's own channel, and a slow tick claims turns dead workers
// left, reads turns nobody was handed (all workers were full) and carries the worker's
// announcement and heartbeat, all in one request.
import { Waker } from "./waker.ts";
import type { QueuedTurn, TurnQueue } from "../redis/turn_queue.ts";
import type { HandoffHandlers } from "../redis/subscription.ts";
import type { Handoff } from "../redis/handoff.ts";
import type { WorkerStatus } from "../redis/worker_registry.ts";
import { toTurn } from "../redis/queued_turn.ts";

export interface WakeSource {
  /** Hand-offs to `consumer` as they are published; `ready` on every (re)subscribe. */
  start(consumer: string, handlers: HandoffHandlers): void;
  close(): void;
}

export interface IntakeOptions {
  consumer: string;
  claimIdleMs: number;
  /** The slow tick; hand-offs make it a fallback. */
  tickMs: number;
  announceEveryMs: number;
  heartbeatEveryMs: number;
  /** Turns this worker may take now (0 while busy or while its model cannot serve). */
  free(): number;
  /** Entry ids of the turns it runs now. */
  running(): string[];
  /** The worker's announcement, sent with the tick when due. */
  announcement(): WorkerStatus;
  /** `handoff`: how the turn was handed to this worker, with its conversation when sent. */
  take(turn: QueuedTurn, claimed: boolean, handoff?: Handoff): void;
  /** Subscribed (again): hand-offs published meanwhile may have been lost on their way. */
  resubscribed(): void;
  log(line: string): void;
}

export class TurnIntake {
  readonly #waker = new Waker();
  #wanted = true;
  #recover = false;
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

  /**
   * Read now: turns may wait undelivered. `own`: hand-offs to this worker may have been lost (it
   * was not subscribed), so its own pending turns are looked at too.
   */
  wake(own = false): void {
    this.#wanted = true;
    this.#recover ||= own;
    this.#waker.wake();
  }

  /** A slot freed up: `wasFull`, so turns may have been left undelivered meanwhile. */
  slotFreed(wasFull: boolean): void {
    if (wasFull) this.wake();
  }

  stop(): void {
    this.#stopping = true;
    this.wakeups?.close();
    this.#waker.wake();
  }

  async run(): Promise<void> {
    this.wakeups?.start(this.opts.consumer, {
      // Handed to this worker, so it runs even when over its limit by a turn or two: leaving it
      // would cost the visitor a claim timeout.
      handed: (handoff) => {
        if (this.#stopping) return; // left pending: another worker claims it
        this.opts.take(toTurn(handoff.entry), false, handoff);
      },
      ready: () => {
        this.opts.resubscribed();
        this.wake(true);
      },
    });
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
    const recover = this.#recover;
    this.#recover = false;
    const claim = tick && now >= this.#nextClaim;
    if (claim) this.#nextClaim = now + Math.max(1000, this.opts.claimIdleMs / 2);
    const announce = tick && now >= this.#nextAnnounce;
    if (announce) this.#nextAnnounce = now + this.opts.announceEveryMs;
    const heartbeat = tick && this.wakeups !== undefined && now >= this.#nextHeartbeat;
    if (heartbeat) this.#nextHeartbeat = now + this.opts.heartbeatEveryMs;
    const { consumer } = this.opts;
    const [own, { claimed, fresh }] = await Promise.all([
      recover ? this.queue.ownTurns(consumer, free, this.opts.running()) : [],
      this.queue.poll(consumer, {
        count: free,
        claimIdleMs: claim ? this.opts.claimIdleMs : undefined,
        announce: announce ? this.opts.announcement() : undefined,
        heartbeat,
      }),
    ]);
    if (claimed.length) this.opts.log(`claimed ${claimed.length} turn(s) left by a dead worker`);
    if (own.length) this.opts.log(`found ${own.length} turn(s) handed over while unsubscribed`);
    // Claim and read share one request, so together they may exceed `free` by up to `free`:
    // those turns are ours now (pending under our name), so they run, a little over the limit.
    for (const turn of claimed) this.opts.take(turn, true);
    for (const turn of [...own, ...fresh]) this.opts.take(turn, false);
    return claimed.length + fresh.length;
  }
}

// The consumer as an importable class: reads turns from the requests stream with a consumer
// group, streams the model's reply into the session's reply stream, commits it to history and
// only then acknowledges. A turn left by a dead worker is claimed by another.
import type { Message } from "../contract/frames.ts";
import { AdaptiveDelay, Waker } from "../backoff.ts";
import { ModelError, type ModelProvider, ModelUnavailableError } from "../providers/types.ts";
import { log as processLog } from "../log.ts";
import type { FinishOutcome, QueuedTurn, TurnQueue } from "../redis/turn_queue.ts";
import { ANNOUNCE_EVERY_MS, type WorkerStatus } from "../redis/worker_registry.ts";
import { afterAppend, afterHeartbeat, endTurn, startTurn, type StopReason } from "./decisions.ts";
import { ReplyWriter } from "./reply_writer.ts";

/** What visitors read when their turn fails; the reason goes to the worker's log. */
export const TURN_MESSAGES = {
  failed: "The assistant could not answer this time. Please try again.",
  noModel: "The assistant is not available right now. Please try again in a little while.",
  gaveUp: "This message could not be answered after several attempts.",
} as const;

export interface TurnWorkerDeps {
  queue: TurnQueue;
  provider: ModelProvider;
  registry: {
    announce(consumer: string, status: WorkerStatus): Promise<void>;
    withdraw(consumer: string): Promise<void>;
  };
  /** The session's messages, oldest first. */
  history(token: string): Promise<Message[]>;
}

export interface TurnWorkerOptions {
  /** Turns run at once. */
  concurrency: number;
  /** A pending turn idle this long belongs to a dead worker. Busy workers refresh theirs often. */
  claimIdleMs: number;
  consumer?: string;
  log?: (line: string) => void;
}

/** Idle polling tops out here: about 1.4 requests a second, plus announcements and claims. */
const IDLE_POLL_MAX_MS = 700;

interface Running {
  turn: QueuedTurn;
  abort: AbortController;
}

export class TurnWorker {
  readonly consumer: string;
  readonly #deps: TurnWorkerDeps;
  readonly #opts: TurnWorkerOptions;
  readonly #log: (line: string) => void;
  readonly #running = new Map<string, Running>();
  readonly #waker = new Waker();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #stopping = false;
  #modelReady = false;
  #modelDetail: string | undefined;
  #loading: Promise<void> | null = null;
  #polling: Promise<void> | null = null;

  constructor(deps: TurnWorkerDeps, opts: TurnWorkerOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.consumer = opts.consumer ??
      `w-${Deno.hostname()}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const logger = processLog.child({ worker: this.consumer });
    this.#log = opts.log ?? ((line) => logger.info(line));
  }

  get modelReady(): boolean {
    return this.#modelReady;
  }

  /** Serves turns until stop() is called. */
  async run(): Promise<void> {
    await this.#deps.queue.ensureGroup();
    const { provider } = this.#deps;
    this.#log(`started (${provider.name}, ${this.#opts.concurrency} at once)`);
    await this.#loadModel();
    const heartbeatMs = Math.min(1000, Math.floor(this.#opts.claimIdleMs / 4));
    this.#timers.push(
      setInterval(
        () => this.#modelReady ? this.#announce() : this.#loadModel(),
        ANNOUNCE_EVERY_MS,
      ),
      setInterval(
        () => this.#heartbeat().catch((err) => this.#log(`heartbeat failed: ${err}`)),
        heartbeatMs,
      ),
    );
    this.#polling = this.#poll();
    await this.#polling;
  }

  /**
   * Stops taking turns, lets the ones in progress finish for up to `graceMs`, then leaves the
   * rest pending for another worker, withdraws its announcement and closes the provider.
   */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#waker.wake();
    if (this.#running.size) this.#log("shutting down: finishing turns in progress");
    const deadline = Date.now() + graceMs;
    while (this.#running.size && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const r of this.#running.values()) r.abort.abort("shutdown" satisfies StopReason);
    await this.#polling;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#deps.registry.withdraw(this.consumer).catch(() => {});
    await this.#deps.provider.close().catch(() => {});
  }

  async #announce(): Promise<void> {
    await this.#deps.registry.announce(this.consumer, {
      model: this.#deps.provider.name,
      ready: this.#modelReady,
      detail: this.#modelDetail,
      until: Date.now() + ANNOUNCE_EVERY_MS * 3,
    }).catch((err) => this.#log(`announce failed: ${err}`));
  }

  /** (Re)tries the model; a file downloaded while the worker runs is picked up without a restart. */
  #loadModel(): Promise<void> {
    this.#loading ??= (async () => {
      const wasReady = this.#modelReady;
      try {
        await this.#deps.provider.ready();
        this.#modelReady = true;
        this.#modelDetail = undefined;
        if (!wasReady) this.#log(`model ready: ${this.#deps.provider.name}`);
      } catch (err) {
        this.#modelReady = false;
        const detail = err instanceof Error ? err.message : String(err);
        if (detail !== this.#modelDetail) this.#log(`model unavailable: ${detail}`);
        this.#modelDetail = detail;
      }
      await this.#announce();
    })().finally(() => this.#loading = null);
    return this.#loading;
  }

  async #handle(turn: QueuedTurn, claimed: boolean): Promise<void> {
    const { queue } = this.#deps;
    const abort = new AbortController();
    this.#running.set(turn.entryId, { turn, abort });
    try {
      const deliveries = claimed ? await queue.deliveries(turn.entryId) : 1;
      if (!this.#modelReady) await this.#loadModel();
      const start = startTurn(turn, claimed, deliveries, this.#modelReady);
      if (start.kind === "ack_only") return await queue.ack(turn.entryId);
      if (start.kind === "give_up") {
        const message = TURN_MESSAGES.gaveUp;
        return this.#recorded(
          turn,
          await queue.finishFailed(this.consumer, turn, "model_error", message),
        );
      }
      if (start.kind === "model_unavailable") {
        this.#log(`turn ${turn.turn} refused: ${this.#modelDetail ?? "no model"}`);
        const message = TURN_MESSAGES.noModel;
        const outcome = await queue.finishFailed(this.consumer, turn, "model_unavailable", message);
        return this.#recorded(turn, outcome);
      }
      await this.#generate(turn, abort);
    } catch (err) {
      if (abort.signal.reason === "shutdown") return;
      // The details are for operators; the visitor gets a plain sentence.
      this.#log(`turn ${turn.turn} failed: ${err instanceof Error ? err.message : err}`);
      const unavailable = err instanceof ModelUnavailableError;
      const code = unavailable ? "model_unavailable" : "model_error";
      const message = unavailable ? TURN_MESSAGES.noModel : TURN_MESSAGES.failed;
      await queue.finishFailed(this.consumer, turn, code, message).then(
        (outcome) => this.#recorded(turn, outcome),
        (e) => this.#log(`recording the failure failed: ${e}`),
      );
    } finally {
      this.#running.delete(turn.entryId);
      this.#waker.wake();
    }
  }

  async #generate(turn: QueuedTurn, abort: AbortController): Promise<void> {
    const { queue, provider } = this.#deps;
    const history = await this.#deps.history(turn.token);
    const at = history.findIndex((m) => m.role === "user" && m.id === turn.turn);
    // Gone from history means the session expired; FINISH_TURN acknowledges and drops it.
    const messages = at >= 0 ? history.slice(0, at + 1) : [];
    let reply = "";
    const writer = new ReplyWriter(
      (text, offset) => queue.append(turn, text, offset),
      (outcome) => {
        const reason = afterAppend(outcome);
        if (reason) abort.abort(reason);
      },
    );
    try {
      if (messages.length) {
        for await (const piece of provider.generate({ messages, signal: abort.signal })) {
          reply += piece;
          writer.push(piece);
          if (abort.signal.aborted) break;
        }
      }
    } finally {
      await writer.drain();
    }
    const reason = (abort.signal.aborted ? abort.signal.reason : null) as StopReason | null;
    const ending = endTurn(reason, reply, messages.length > 0);
    if (ending.kind === "leave") return;
    if (ending.kind === "failed") throw new ModelError(ending.message);
    this.#recorded(turn, await queue.finishDone(this.consumer, turn, reply, ending.stopped));
  }

  /** Anything but a commit means someone else decided the turn's fate first: worth a line. */
  #recorded(turn: QueuedTurn, outcome: FinishOutcome): void {
    if (outcome !== "committed") this.#log(`turn ${turn.turn} not recorded: ${outcome}`);
  }

  async #heartbeat(): Promise<void> {
    const list = [...this.#running.values()];
    if (!list.length) return;
    const outcomes = await this.#deps.queue.heartbeat(this.consumer, list.map((r) => r.turn));
    outcomes.forEach((outcome, i) => {
      const reason = afterHeartbeat(outcome);
      if (reason) list[i].abort.abort(reason);
    });
  }

  async #poll(): Promise<void> {
    const { queue } = this.#deps;
    const { concurrency, claimIdleMs } = this.#opts;
    const delay = new AdaptiveDelay(5, IDLE_POLL_MAX_MS, 500, 25);
    let nextClaim = 0;
    let nextTrim = Date.now() + 60_000;
    while (!this.#stopping) {
      const free = concurrency - this.#running.size;
      // A worker that cannot answer takes no turns: the ones that can, or a later self, will.
      if (free <= 0 || !this.#modelReady) {
        await this.#waker.sleep(1000);
        continue;
      }
      try {
        let claimed: QueuedTurn[] = [];
        if (Date.now() >= nextClaim) {
          nextClaim = Date.now() + Math.max(1000, claimIdleMs / 2);
          claimed = await queue.claimStale(this.consumer, claimIdleMs, free);
          if (claimed.length) this.#log(`claimed ${claimed.length} turn(s) left by a dead worker`);
          for (const turn of claimed) this.#handle(turn, true);
        }
        const fresh = claimed.length < free
          ? await queue.read(this.consumer, free - claimed.length)
          : [];
        for (const turn of fresh) this.#handle(turn, false);
        if (Date.now() >= nextTrim) {
          nextTrim = Date.now() + 60_000;
          await queue.trim();
        }
        if (claimed.length || fresh.length) {
          delay.hit();
          continue;
        }
      } catch (err) {
        this.#log(`polling failed: ${err instanceof Error ? err.message : err}`);
      }
      await this.#waker.sleep(delay.miss());
    }
  }
}

// The consumer as an importable class: reads turns from the requests stream with a consumer
// group, streams the model's reply into the session's reply stream, commits it to history and
// only then acknowledges. A turn left by a dead worker is claimed by another.
import type { Message } from "../contract/frames.ts";
import { ModelError, type ModelProvider, ModelUnavailableError } from "../providers/types.ts";
import type { Handoff } from "../redis/handoff.ts";
import { log as processLog } from "../log.ts";
import type { AppendOutcome, FinishOutcome, QueuedTurn, TurnQueue } from "../redis/turn_queue.ts";
import { ANNOUNCE_EVERY_MS, type WorkerStatus } from "../redis/worker_registry.ts";
import {
  afterAppend,
  afterHeartbeat,
  endTurn,
  startTurn,
  type StopReason,
  TURN_MESSAGES,
  turnMessages,
} from "./decisions.ts";
import { type TurnMetrics, turnReporter, type TurnStats } from "./metrics.ts";
import { ReplyWriter } from "./reply_writer.ts";
import { RunningTurns } from "./running_turns.ts";
import { TurnHistory } from "./turn_history.ts";
import { TurnIntake, type WakeSource } from "./turn_intake.ts";

export interface TurnWorkerDeps {
  queue: TurnQueue;
  provider: ModelProvider;
  registry: {
    announce(consumer: string, status: WorkerStatus): Promise<void>;
    withdraw(consumer: string): Promise<void>;
  };
  /** A conversation's stored members (message_members.ts), oldest first. */
  history(token: string, conversation: string): Promise<string[]>;
  /** Turns handed to it as they are queued (pub/sub); without it the worker only polls, slowly. */
  wakeups?: WakeSource;
}

export interface TurnWorkerOptions {
  /** Turns run at once. */
  concurrency: number;
  /** A pending turn idle this long belongs to a dead worker. Busy workers refresh theirs often. */
  claimIdleMs: number;
  consumer?: string;
  log?: (line: string) => void;
  /** Told how each turn ends and how fast the model answers (lib/worker/metrics.ts). */
  metrics?: TurnMetrics;
}

/** The fallback tick (claims, a read, announcement, heartbeat in one request) when pushes work. */
const TICK_MAX_MS = 10_000;
const HEARTBEAT_EVERY_MS = 30_000;

export class TurnWorker {
  readonly consumer: string;
  readonly #deps: TurnWorkerDeps;
  readonly #opts: TurnWorkerOptions;
  readonly #log: (line: string) => void;
  readonly #report: ReturnType<typeof turnReporter>;
  readonly #running: RunningTurns;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #history: TurnHistory;
  #stopping = false;
  #modelReady = false;
  #modelDetail: string | undefined;
  #loading: Promise<void> | null = null;
  #polling: Promise<void> | null = null;
  #intake: TurnIntake | null = null;
  #heartbeatMs = 1000;

  constructor(deps: TurnWorkerDeps, opts: TurnWorkerOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.#running = new RunningTurns(opts.concurrency);
    this.#history = new TurnHistory(deps.history);
    this.consumer = opts.consumer ??
      `w-${Deno.hostname()}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const logger = processLog.child({ worker: this.consumer });
    this.#log = opts.log ?? ((line) => logger.info(line));
    this.#report = turnReporter(opts.metrics, opts.log, logger);
  }

  /** Turns in progress right now. */
  get running(): number {
    return this.#running.size;
  }

  get modelReady(): boolean {
    return this.#modelReady;
  }

  /** Serves turns until stop() is called. */
  async run(): Promise<void> {
    const { queue, provider } = this.#deps;
    await queue.ensureGroup();
    const { concurrency, claimIdleMs } = this.#opts;
    this.#log(`started (${provider.name}, ${concurrency} at once)`);
    await this.#loadModel();
    const heartbeatMs = this.#heartbeatMs = Math.min(1000, Math.floor(claimIdleMs / 4));
    this.#timers.push(
      // While the model cannot serve, retry it (and say so); once it can, the tick announces.
      setInterval(() => this.#modelReady || this.#loadModel(), ANNOUNCE_EVERY_MS / 3),
      setInterval(
        () => this.#heartbeat().catch((err) => this.#log(`heartbeat failed: ${err}`)),
        heartbeatMs,
      ),
    );
    this.#intake = new TurnIntake(queue, {
      consumer: this.consumer,
      claimIdleMs,
      tickMs: Math.min(TICK_MAX_MS, claimIdleMs / 2),
      announceEveryMs: ANNOUNCE_EVERY_MS,
      heartbeatEveryMs: HEARTBEAT_EVERY_MS,
      // A worker that cannot answer takes no turns: the ones that can, or a later self, will.
      free: () => this.#modelReady && !this.#stopping ? this.#running.free : 0,
      running: () => this.#running.ids(),
      announcement: () => this.#status(),
      take: (turn, claimed, handoff) => this.#handle(turn, claimed, handoff),
      resubscribed: () => this.#history.forget(),
      log: (line) => this.#log(line),
    }, this.#deps.wakeups);
    this.#polling = this.#intake.run();
    await this.#polling;
  }

  /**
   * Stops taking turns, lets the ones in progress finish for up to `graceMs`, then leaves the
   * rest pending for another worker, withdraws its announcement and closes the provider.
   */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#intake?.stop();
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

  #status(): WorkerStatus {
    return {
      model: this.#deps.provider.name,
      gpu: this.#deps.provider.gpu,
      ready: this.#modelReady,
      detail: this.#modelDetail,
      until: Date.now() + ANNOUNCE_EVERY_MS * 3,
      capacity: this.#opts.concurrency,
    };
  }

  async #announce(): Promise<void> {
    await this.#deps.registry.announce(this.consumer, this.#status())
      .catch((err) => this.#log(`announce failed: ${err}`));
  }

  /** (Re)tries the model; a file downloaded while the worker runs is picked up without a restart. */
  #loadModel(): Promise<void> {
    this.#loading ??= (async () => {
      const wasReady = this.#modelReady;
      try {
        await this.#deps.provider.ready();
        this.#modelReady = true;
        this.#modelDetail = undefined;
        const { name, gpu } = this.#deps.provider;
        if (!wasReady) this.#log(`model ready: ${name}${gpu ? ` (runs on ${gpu})` : ""}`);
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

  async #handle(turn: QueuedTurn, claimed: boolean, handoff?: Handoff): Promise<void> {
    const history = this.#history.handed(turn, handoff);
    const running = this.#running.start(turn);
    if (!running) return;
    const { abort, stats, started } = running;
    const { queue } = this.#deps;
    try {
      const deliveries = claimed ? await queue.deliveries(turn.entryId) : 1;
      if (!this.#modelReady) await this.#loadModel();
      const start = startTurn(turn, claimed, deliveries, this.#modelReady);
      if (start.kind === "ack_only") {
        stats.outcome = "dropped";
        return await queue.ack(turn.entryId);
      }
      if (start.kind === "give_up") {
        const message = TURN_MESSAGES.gaveUp;
        stats.outcome = "gave_up";
        return this.#recorded(
          turn,
          await queue.finishFailed(this.consumer, turn, "model_error", message),
        );
      }
      if (start.kind === "model_unavailable") {
        this.#log(`turn ${turn.turn} refused: ${this.#modelDetail ?? "no model"}`);
        const message = TURN_MESSAGES.noModel;
        stats.outcome = "model_unavailable";
        const outcome = await queue.finishFailed(this.consumer, turn, "model_unavailable", message);
        return this.#recorded(turn, outcome);
      }
      await this.#generate(turn, abort, stats, history);
    } catch (err) {
      if (abort.signal.reason === "shutdown") return;
      // The details are for operators; the visitor gets a plain sentence.
      this.#log(`turn ${turn.turn} failed: ${err instanceof Error ? err.message : err}`);
      const unavailable = err instanceof ModelUnavailableError;
      // The model stopped serving (an endpoint went away): stop taking turns until it is back.
      if (unavailable) {
        this.#modelReady = false;
        this.#loadModel();
      }
      const code = unavailable ? "model_unavailable" : "model_error";
      const message = unavailable ? TURN_MESSAGES.noModel : TURN_MESSAGES.failed;
      stats.outcome = code;
      await queue.finishFailed(this.consumer, turn, code, message).then(
        (outcome) => this.#recorded(turn, outcome),
        (e) => this.#log(`recording the failure failed: ${e}`),
      );
    } finally {
      this.#intake?.slotFreed(this.#running.end(turn.entryId));
      this.#report(turn, stats, (performance.now() - started) / 1000);
    }
  }

  async #generate(
    turn: QueuedTurn,
    abort: AbortController,
    stats: TurnStats,
    prefetched?: Message[],
  ): Promise<void> {
    const { queue, provider } = this.#deps;
    const history = prefetched ?? await this.#history.fetch(turn);
    const messages = turnMessages(history, turn.ask);
    let reply = "";
    const onAppend = (outcome: AppendOutcome) => {
      const reason = afterAppend(outcome);
      if (reason) abort.abort(reason);
    };
    const writer = new ReplyWriter((text, offset) => queue.append(turn, text, offset), onAppend);
    const asked = performance.now();
    const since = () => (performance.now() - asked) / 1000;
    let ended = false;
    try {
      if (messages.length) {
        const request = { messages, signal: abort.signal, userName: turn.userName ?? undefined };
        for await (const piece of provider.generate(request)) {
          if (stats.tokens++ === 0) this.#opts.metrics?.firstToken(since());
          reply += piece;
          writer.push(piece);
          if (abort.signal.aborted) break;
        }
      }
      ended = true;
    } finally {
      if (messages.length) this.#opts.metrics?.generated(since());
      // A failing model's text is still shown before its error.
      if (!ended) await writer.drain();
    }
    const reason = (abort.signal.aborted ? abort.signal.reason : null) as StopReason | null;
    const ending = endTurn(reason, reply, messages.length > 0);
    if (ending.kind !== "done") await writer.drain();
    if (ending.kind === "leave") return;
    if (ending.kind === "failed") throw new ModelError(ending.message);
    stats.outcome = ending.stopped ? "stopped" : "done";
    const rest = await writer.takeRest();
    const outcome = await queue.finishDone(this.consumer, turn, reply, ending.stopped, rest);
    this.#recorded(turn, outcome);
  }

  /** Anything but a commit means someone else decided the turn's fate first: worth a line. */
  #recorded(turn: QueuedTurn, outcome: FinishOutcome): void {
    if (outcome === "committed") return;
    this.#log(`turn ${turn.turn} not recorded: ${outcome}`);
    const running = this.#running.of(turn);
    if (running) running.stats.outcome = outcome;
  }

  async #heartbeat(): Promise<void> {
    // A turn younger than one beat was just delivered (its idle time is fresh): most short
    // replies then never cost a heartbeat.
    const now = performance.now();
    const list = [...this.#running.values()].filter((r) => now - r.started >= this.#heartbeatMs);
    if (!list.length) return;
    const outcomes = await this.#deps.queue.heartbeat(this.consumer, list.map((r) => r.turn));
    outcomes.forEach((outcome, i) => {
      const reason = afterHeartbeat(outcome);
      if (reason) list[i].abort.abort(reason);
    });
  }
}

// The turn queue: web servers XADD turns to one requests stream; workers read it with a consumer
// group, claim what dead workers left pending, and XACK only inside FINISH_TURN, after the reply
// is in history.
import type { Redis } from "./client.ts";
import {
  REQUESTS_STREAM,
  sessionKeyList,
  sessionKeys,
  WORKER_GROUP,
  WORKERS_HASH,
} from "./keys.ts";
import { type Candidate, candidatesArg, workerChannel } from "./handoff.ts";
import { entryArgs, readReplyEntry, type ReplyEntry } from "./reply_entry.ts";
import { DEFAULT_CONVERSATION } from "../contract/conversations.ts";
import {
  abandonedEnding,
  acceptArgs,
  doneEnding,
  failedEnding,
  type TurnRate,
  type TurnRequest,
} from "./turn_request.ts";
import { ScriptRunner } from "./script_runner.ts";
import { announcement, type WorkerStatus } from "./worker_registry.ts";
import { ACCEPT_TURN, APPEND_DELTA, END_ABANDONED, FINISH_TURN, REQUEST_STOP } from "./scripts.ts";
import { HEARTBEAT, OWN_TURNS, TRIM_REQUESTS } from "./worker_scripts.ts";
import { fields, type RawEntry } from "./stream_entries.ts";
import { deltaEntry, type QueuedTurn, toTurn } from "./queued_turn.ts";

export type { QueuedTurn };

export type AcceptOutcome = (typeof ACCEPT_TURN.outcomes)[number];
export type AppendOutcome = (typeof APPEND_DELTA.outcomes)[number];
export type FinishOutcome = (typeof FINISH_TURN.outcomes)[number];
export type HeartbeatOutcome = (typeof HEARTBEAT.outcomes)[number];
export type AbandonOutcome = (typeof END_ABANDONED.outcomes)[number];

export class TurnQueue {
  readonly #scripts: ScriptRunner;

  constructor(
    readonly redis: Redis,
    readonly ttl: number,
    readonly limits: { maxConversations?: number; rate?: TurnRate } = {},
  ) {
    this.#scripts = new ScriptRunner(redis);
  }

  // --- web server side ---

  /**
   * `requestId`: the x-request-id of the request behind the turn, carried into worker logs.
   * `request`: which conversation, and whether the turn is a message, an edit or a regenerate.
   * `request.workers`: the live workers the turn may be handed to (none: it waits to be read).
   * `retryAfterMs`: when rate-limited, how long until the session may queue a turn again.
   * `worker`: the worker the queued turn was handed to, if any.
   */
  async accept(
    token: string,
    turnId: string,
    content: string,
    requestId = "",
    request: TurnRequest & { userName?: string; workers?: readonly Candidate[] } = {},
  ): Promise<{ outcome: AcceptOutcome; retryAfterMs: number; worker: string | null }> {
    const { workers, ...turn } = request;
    const { outcome, detail } = await this.#scripts.runDetailed(
      ACCEPT_TURN,
      [...sessionKeyList(token), REQUESTS_STREAM],
      acceptArgs({ token, turnId, content, requestId, ttl: this.ttl, ...turn }, {
        maxConversations: this.limits.maxConversations ?? 100,
        rate: this.limits.rate ?? UNLIMITED,
      }, candidatesArg(workers)),
    );
    return {
      outcome,
      retryAfterMs: outcome === "rate_limited" ? Number(detail) || 0 : 0,
      worker: outcome === "queued" ? detail : null,
    };
  }

  /** Marks a turn for stopping; the worker sees it on its next write or heartbeat. */
  async requestStop(token: string, turnId: string): Promise<boolean> {
    return await this.#scripts.run(REQUEST_STOP, sessionKeyList(token), [turnId]) === "stopping";
  }

  /**
   * Ends a turn no worker will finish (see END_ABANDONED): `stop` after a Stop the worker did not
   * honour in time, `orphan` when its worker is gone. What the user saw is kept.
   */
  async endAbandoned(
    token: string,
    turn: string,
    mode: "stop" | "orphan",
    opts: { idleMs: number; noWorkers: boolean; error: { code: string; message: string } },
  ): Promise<AbandonOutcome> {
    const keys = sessionKeys(token);
    const [raw, conv] = await Promise.all([
      this.redis.xrange(keys.replies, "-", "+") as unknown as Promise<RawEntry[]>,
      this.redis.hget<string>(keys.turns, `${turn}:c`),
    ]);
    const entries = raw.map(([, f]) => readReplyEntry(fields(f))).filter((e) => e !== null);
    const end = abandonedEnding(entries, turn, conv ?? DEFAULT_CONVERSATION, mode, opts.error);
    return this.#scripts.run(END_ABANDONED, [...sessionKeyList(token), REQUESTS_STREAM], [
      turn,
      WORKER_GROUP,
      mode,
      String(opts.idleMs),
      opts.noWorkers ? "1" : "0",
      raw.at(-1)?.[0] ?? "0-0",
      end.mid,
      end.message,
      end.ts,
      end.failure,
      ...entryArgs(end.entry),
    ]);
  }

  // --- worker side ---

  async ensureGroup(): Promise<void> {
    try {
      // From "0": turns queued before the first worker ever started are still served.
      await this.redis.xgroup(REQUESTS_STREAM, {
        type: "CREATE",
        group: WORKER_GROUP,
        id: "0",
        options: { MKSTREAM: true },
      });
    } catch (err) {
      if (!String(err).includes("BUSYGROUP")) throw err;
    }
  }

  /**
   * A worker's periodic visit in one request: optionally its announcement and a heartbeat on its
   * own channel (so its subscription hears something even when nobody chats),
   * optionally claiming turns left by dead workers, then reading new ones.
   */
  async poll(consumer: string, opts: {
    count: number;
    claimIdleMs?: number;
    announce?: WorkerStatus;
    heartbeat?: boolean;
  }): Promise<{ claimed: QueuedTurn[]; fresh: QueuedTurn[] }> {
    const p = this.redis.pipeline();
    if (opts.announce) p.hset(WORKERS_HASH, announcement(consumer, opts.announce));
    if (opts.heartbeat) p.publish(workerChannel(consumer), "hb");
    if (opts.claimIdleMs !== undefined) {
      p.xautoclaim(REQUESTS_STREAM, WORKER_GROUP, consumer, opts.claimIdleMs, "0-0", {
        count: opts.count,
      });
    }
    p.xreadgroup(WORKER_GROUP, consumer, REQUESTS_STREAM, ">", { count: opts.count });
    const results = await p.exec() as unknown[];
    const read = results.at(-1) as [string, RawEntry[]][] | null;
    const claim = opts.claimIdleMs !== undefined
      ? results.at(-2) as [string, (RawEntry | null)[]] | null
      : null;
    return {
      claimed: (claim?.[1] ?? []).filter((e): e is RawEntry => Array.isArray(e)).map(toTurn),
      fresh: (read?.[0]?.[1] ?? []).map(toTurn),
    };
  }

  /**
   * The turns pending under this worker that it is not running (`running`: their entry ids):
   * turns handed to it while nobody listened on its channel.
   */
  async ownTurns(consumer: string, count: number, running: string[]): Promise<QueuedTurn[]> {
    const raw = await this.#scripts.read(OWN_TURNS, [REQUESTS_STREAM], [
      WORKER_GROUP,
      consumer,
      String(count),
      ...running,
    ]) as RawEntry[];
    return raw.map(toTurn);
  }

  /** How often the group has handed out this entry (for giving up on a turn that kills workers). */
  async deliveries(entryId: string): Promise<number> {
    const raw = await this.redis.xpending(
      REQUESTS_STREAM,
      WORKER_GROUP,
      entryId,
      entryId,
      1,
    ) as unknown as [string, string, number, number][];
    return raw?.[0]?.[3] ?? 0;
  }

  /** For entries that name no turn at all (never written by our web servers). */
  async ack(entryId: string): Promise<void> {
    await this.redis.xack(REQUESTS_STREAM, WORKER_GROUP, entryId);
  }

  append(turn: QueuedTurn, text: string, offset: number): Promise<AppendOutcome> {
    return this.#scripts.run(APPEND_DELTA, sessionKeyList(turn.token), [
      turn.turn,
      ...entryArgs(deltaEntry(turn, text, offset)),
    ]);
  }

  /** `last`: the reply's final delta when not yet appended, written just before the `done`. */
  finishDone(
    consumer: string,
    turn: QueuedTurn,
    content: string,
    stopped: boolean,
    last?: { text: string; offset: number },
  ): Promise<FinishOutcome> {
    const end = doneEnding(turn.turn, turn.conversation, content, stopped);
    const delta = last?.text ? entryArgs(deltaEntry(turn, last.text, last.offset)) : [];
    return this.#finish(consumer, turn, "done", end.message, end.entry, delta);
  }

  finishFailed(
    consumer: string,
    turn: QueuedTurn,
    code: string,
    message: string,
  ): Promise<FinishOutcome> {
    const end = failedEnding(turn.turn, turn.conversation, { code, message });
    return this.#finish(consumer, turn, "failed", end.message, end.entry);
  }

  #finish(
    consumer: string,
    turn: QueuedTurn,
    state: "done" | "failed",
    message: [id: string, json: string, ts: string, failure: string],
    entry: ReplyEntry,
    delta: string[] = [],
  ): Promise<FinishOutcome> {
    return this.#scripts.run(FINISH_TURN, [...sessionKeyList(turn.token), REQUESTS_STREAM], [
      turn.turn,
      WORKER_GROUP,
      consumer,
      turn.entryId,
      state,
      ...message,
      String(delta.length),
      ...delta,
      ...entryArgs(entry),
    ]);
  }

  /** Per turn: go on, stop requested, or lost (another worker owns it now). */
  heartbeat(consumer: string, turns: QueuedTurn[]): Promise<HeartbeatOutcome[]> {
    if (turns.length === 0) return Promise.resolve([]);
    return this.#scripts.runEach(
      HEARTBEAT,
      [REQUESTS_STREAM, ...turns.map((t) => sessionKeys(t.token).turns)],
      [WORKER_GROUP, consumer, ...turns.flatMap((t) => [t.entryId, t.turn])],
    );
  }

  trim(): Promise<(typeof TRIM_REQUESTS.outcomes)[number]> {
    return this.#scripts.run(TRIM_REQUESTS, [REQUESTS_STREAM], [WORKER_GROUP]);
  }
}

/** No limit (tests and tools that queue turns directly). */
const UNLIMITED: TurnRate = { limit: Number.MAX_SAFE_INTEGER, windowMs: 1 };

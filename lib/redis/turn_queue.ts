// The turn queue: web servers XADD turns to one requests stream; workers read it with a consumer
// group, claim what dead workers left pending, and XACK only inside FINISH_TURN, after the reply
// is in history.
import type { Redis } from "./client.ts";
import { REQUESTS_STREAM, sessionKeyList, sessionKeys, WORKER_GROUP } from "./keys.ts";
import { entryArgs, readReplyEntry, type ReplyEntry } from "./reply_entry.ts";
import { ScriptRunner } from "./script_runner.ts";
import {
  ACCEPT_TURN,
  APPEND_DELTA,
  END_ABANDONED,
  FINISH_TURN,
  HEARTBEAT,
  REQUEST_STOP,
  TRIM_REQUESTS,
} from "./scripts.ts";
import { fields, type RawEntry } from "./stream_entries.ts";

export type AcceptOutcome = (typeof ACCEPT_TURN.outcomes)[number];
export type AppendOutcome = (typeof APPEND_DELTA.outcomes)[number];
export type FinishOutcome = (typeof FINISH_TURN.outcomes)[number];
export type HeartbeatOutcome = (typeof HEARTBEAT.outcomes)[number];
export type AbandonOutcome = (typeof END_ABANDONED.outcomes)[number];

/** Apply a reply's deltas in order: each starts at its offset (a retried turn restarts at 0). */
export function seenText(entries: ReplyEntry[], turn: string): string {
  let text = "";
  for (const e of entries) {
    if (e.type === "delta" && e.id === turn) text = text.slice(0, Number(e.offset) || 0) + e.text;
  }
  return text;
}

export interface QueuedTurn {
  entryId: string;
  token: string;
  turn: string;
}

/** The id of the assistant message that answers a turn (client ids never contain ":"). */
export const replyMessageId = (turn: string) => `${turn}:a`;

export class TurnQueue {
  readonly #scripts: ScriptRunner;

  constructor(readonly redis: Redis, readonly ttl: number) {
    this.#scripts = new ScriptRunner(redis);
  }

  // --- web server side ---

  accept(token: string, turnId: string, content: string): Promise<AcceptOutcome> {
    return this.#scripts.run(
      ACCEPT_TURN,
      [...sessionKeyList(token), REQUESTS_STREAM],
      [turnId, content, new Date().toISOString(), String(this.ttl), token],
    );
  }

  /** Marks a turn for stopping; the worker sees it on its next write or heartbeat. */
  async requestStop(token: string, turnId: string): Promise<boolean> {
    return await this.#scripts.run(REQUEST_STOP, sessionKeyList(token), [turnId]) === "stopping";
  }

  /** Turns of the session still waiting for their reply (queued or streaming). */
  async runningTurns(token: string): Promise<string[]> {
    const raw = await this.redis.hgetall(sessionKeys(token).turns) as unknown as string[] | null;
    const out: string[] = [];
    for (let i = 0; raw && i + 1 < raw.length; i += 2) {
      if (!raw[i].includes(":") && raw[i + 1] === "queued") out.push(raw[i]);
    }
    return out;
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
    const raw = await this.redis.xrange(
      sessionKeys(token).replies,
      "-",
      "+",
    ) as unknown as RawEntry[];
    const entries = raw.map(([, f]) => readReplyEntry(fields(f))).filter((e) => e !== null);
    const content = seenText(entries, turn);
    const ts = new Date().toISOString();
    const mid = replyMessageId(turn);
    const entry: ReplyEntry = mode === "stop"
      ? { type: "done", id: turn, mid, content, ts, stopped: "1" }
      : { type: "error", id: turn, ...opts.error };
    return this.#scripts.run(END_ABANDONED, [...sessionKeyList(token), REQUESTS_STREAM], [
      turn,
      WORKER_GROUP,
      mode,
      String(opts.idleMs),
      opts.noWorkers ? "1" : "0",
      raw.at(-1)?.[0] ?? "0-0",
      String(this.ttl),
      mid,
      content,
      ts,
      ...entryArgs(entry),
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

  async read(consumer: string, count: number): Promise<QueuedTurn[]> {
    const raw = await this.redis.xreadgroup(WORKER_GROUP, consumer, REQUESTS_STREAM, ">", {
      count,
    }) as unknown as [string, RawEntry[]][] | null;
    return (raw?.[0]?.[1] ?? []).map(toTurn);
  }

  /** Takes over turns another worker left pending for longer than `minIdleMs`. */
  async claimStale(consumer: string, minIdleMs: number, count: number): Promise<QueuedTurn[]> {
    const raw = await this.redis.xautoclaim(
      REQUESTS_STREAM,
      WORKER_GROUP,
      consumer,
      minIdleMs,
      "0-0",
      { count },
    ) as unknown as [string, (RawEntry | null)[]];
    return (raw?.[1] ?? []).filter((e): e is RawEntry => Array.isArray(e)).map(toTurn);
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
    const entry: ReplyEntry = { type: "delta", id: turn.turn, text, offset: String(offset) };
    return this.#scripts.run(APPEND_DELTA, sessionKeyList(turn.token), [
      turn.turn,
      String(this.ttl),
      ...entryArgs(entry),
    ]);
  }

  finishDone(
    consumer: string,
    turn: QueuedTurn,
    content: string,
    stopped: boolean,
  ): Promise<FinishOutcome> {
    const ts = new Date().toISOString();
    const mid = replyMessageId(turn.turn);
    const entry: ReplyEntry = {
      type: "done",
      id: turn.turn,
      mid,
      content,
      ts,
      stopped: stopped ? "1" : "0",
    };
    return this.#finish(consumer, turn, "done", [mid, content, ts], entry);
  }

  finishFailed(
    consumer: string,
    turn: QueuedTurn,
    code: string,
    message: string,
  ): Promise<FinishOutcome> {
    const entry: ReplyEntry = { type: "error", id: turn.turn, code, message };
    return this.#finish(consumer, turn, "failed", ["", "", ""], entry);
  }

  #finish(
    consumer: string,
    turn: QueuedTurn,
    state: "done" | "failed",
    message: [id: string, content: string, ts: string],
    entry: ReplyEntry,
  ): Promise<FinishOutcome> {
    return this.#scripts.run(FINISH_TURN, [...sessionKeyList(turn.token), REQUESTS_STREAM], [
      turn.turn,
      WORKER_GROUP,
      consumer,
      turn.entryId,
      String(this.ttl),
      state,
      ...message,
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

function toTurn([entryId, raw]: RawEntry): QueuedTurn {
  const f = fields(raw);
  return { entryId, token: f.token ?? "", turn: f.turn ?? "" };
}

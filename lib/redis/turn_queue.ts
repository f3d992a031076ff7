// The turn queue: web servers XADD turns to one requests stream; workers read it with a consumer
// group, claim what dead workers left pending, and XACK only inside FINISH_TURN, after the reply
// is in history.
import { REQUESTS_STREAM, sessionKeys, WORKER_GROUP } from "./keys.ts";
import type { Redis } from "./client.ts";
import { ACCEPT_TURN, APPEND_DELTA, FINISH_TURN, HEARTBEAT, TRIM_REQUESTS } from "./scripts.ts";
import { fields, type RawEntry } from "../contract/stream_ids.ts";

const sessionKeyList = (token: string) => {
  const k = sessionKeys(token);
  return [k.session, k.history, k.turns, k.replies];
};

export type AcceptResult = "queued" | "duplicate" | "session_gone";

export class TurnQueue {
  #accept;
  #append;
  #finish;
  #heartbeat;
  #trim;

  constructor(readonly redis: Redis, readonly ttl: number) {
    this.#accept = redis.createScript<number>(ACCEPT_TURN);
    this.#append = redis.createScript<number>(APPEND_DELTA);
    this.#finish = redis.createScript<number>(FINISH_TURN);
    this.#heartbeat = redis.createScript<number[]>(HEARTBEAT);
    this.#trim = redis.createScript<number>(TRIM_REQUESTS);
  }

  // --- web server side ---

  async accept(token: string, turnId: string, content: string): Promise<AcceptResult> {
    const result = await this.#accept.exec(
      [...sessionKeyList(token), REQUESTS_STREAM],
      [turnId, content, new Date().toISOString(), String(this.ttl), token],
    );
    return result === 1 ? "queued" : result === 0 ? "duplicate" : "session_gone";
  }

  /** Marks a turn for stopping; the worker sees it on its next write or heartbeat. */
  async requestStop(token: string, turnId: string): Promise<boolean> {
    const key = sessionKeys(token).turns;
    const state = await this.redis.hget<string>(key, turnId);
    if (state !== "queued") return false;
    await this.redis.hset(key, { [`${turnId}:stop`]: "1" });
    return true;
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

  /** -1 session gone, -2 turn already finished, 1 stop requested, 0 go on. */
  append(turn: QueuedTurn, text: string, offset: number): Promise<number> {
    return this.#append.exec(sessionKeyList(turn.token), [
      turn.turn,
      text,
      String(offset),
      String(this.ttl),
    ]);
  }

  finishDone(consumer: string, turn: QueuedTurn, content: string, stopped: boolean) {
    return this.#finish.exec([...sessionKeyList(turn.token), REQUESTS_STREAM], [
      turn.turn,
      WORKER_GROUP,
      consumer,
      turn.entryId,
      String(this.ttl),
      "done",
      content,
      new Date().toISOString(),
      stopped ? "1" : "0",
    ]);
  }

  finishFailed(consumer: string, turn: QueuedTurn, code: string, message: string) {
    return this.#finish.exec([...sessionKeyList(turn.token), REQUESTS_STREAM], [
      turn.turn,
      WORKER_GROUP,
      consumer,
      turn.entryId,
      String(this.ttl),
      "failed",
      code,
      message,
    ]);
  }

  /** Per turn: 1 stop requested, 0 go on, -1 another worker owns it now. */
  async heartbeat(consumer: string, turns: QueuedTurn[]): Promise<number[]> {
    if (turns.length === 0) return [];
    return await this.#heartbeat.exec(
      [REQUESTS_STREAM, ...turns.map((t) => sessionKeys(t.token).turns)],
      [WORKER_GROUP, consumer, ...turns.flatMap((t) => [t.entryId, t.turn])],
    );
  }

  trim(): Promise<number> {
    return this.#trim.exec([REQUESTS_STREAM], [WORKER_GROUP]);
  }
}

export interface QueuedTurn {
  entryId: string;
  token: string;
  turn: string;
}

function toTurn([entryId, raw]: RawEntry): QueuedTurn {
  const f = fields(raw);
  return { entryId, token: f.token ?? "", turn: f.turn ?? "" };
}

// The consumer: reads turns from the requests stream with a consumer group, streams the model's
// reply into the session's reply stream, commits it to history and only then acknowledges.
// Run as many as you like; a turn left by a dead worker is claimed by another.
import { AdaptiveDelay, Waker } from "./lib/backoff.ts";
import { loadConfig } from "./lib/config.ts";
import type { ErrorCode } from "./lib/contract/frames.ts";
import { readHistory } from "./lib/redis/history.ts";
import { createProvider, workerConcurrency } from "./lib/providers/mod.ts";
import { ModelError, ModelUnavailableError } from "./lib/providers/types.ts";
import { type QueuedTurn, TurnQueue } from "./lib/redis/turn_queue.ts";
import { createRedis, resolveRedisEndpoint } from "./lib/redis/client.ts";
import { type AppendOutcome, ReplyWriter } from "./lib/worker/reply_writer.ts";
import { announce, ANNOUNCE_EVERY_MS, withdraw } from "./lib/redis/worker_registry.ts";

const config = loadConfig();
/** A pending turn idle this long belongs to a dead worker. Busy workers refresh theirs often. */
const CLAIM_IDLE_MS = config.WORKER_CLAIM_IDLE_MS;
const HEARTBEAT_MS = Math.min(1000, Math.floor(CLAIM_IDLE_MS / 4));
/** Idle polling tops out here: about 1.4 requests a second, plus announcements and claims. */
const IDLE_POLL_MAX_MS = 700;
const MAX_DELIVERIES = 5;

const redis = createRedis(await resolveRedisEndpoint(config));
const queue = new TurnQueue(redis, config.SESSION_TTL_SECONDS);
const consumer = `w-${Deno.hostname()}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
const concurrency = workerConcurrency(config);
const provider = await createProvider(config);

interface Running {
  turn: QueuedTurn;
  abort: AbortController;
}
const running = new Map<string, Running>();
const waker = new Waker();
let stopping = false;
let modelReady = false;
let modelDetail: string | undefined;

const log = (...args: unknown[]) => console.log(`[worker ${consumer}]`, ...args);

async function announceStatus() {
  await announce(redis, consumer, {
    model: provider.name,
    ready: modelReady,
    detail: modelDetail,
    until: Date.now() + ANNOUNCE_EVERY_MS * 3,
  }).catch((err) => log("announce failed:", String(err)));
}

let loading: Promise<void> | null = null;

/** (Re)tries the model; a file downloaded while the worker runs is picked up without a restart. */
function loadModel(): Promise<void> {
  loading ??= (async () => {
    const wasReady = modelReady;
    try {
      await provider.ready();
      modelReady = true;
      modelDetail = undefined;
      if (!wasReady) log(`model ready: ${provider.name}`);
    } catch (err) {
      modelReady = false;
      const detail = err instanceof Error ? err.message : String(err);
      if (detail !== modelDetail) log(`model unavailable: ${detail}`);
      modelDetail = detail;
    }
    await announceStatus();
  })().finally(() => loading = null);
  return loading;
}

const codeOf = (err: unknown): ErrorCode =>
  err instanceof ModelUnavailableError ? "model_unavailable" : "model_error";

async function handle(turn: QueuedTurn, claimed: boolean): Promise<void> {
  const abort = new AbortController();
  running.set(turn.entryId, { turn, abort });
  try {
    if (!turn.token || !turn.turn) {
      await queue.ack(turn.entryId);
      return;
    }
    // Only a claimed turn has been tried before: one that keeps killing workers is given up.
    if (claimed && await queue.deliveries(turn.entryId) > MAX_DELIVERIES) {
      await queue.finishFailed(
        consumer,
        turn,
        "model_error",
        "This message could not be answered after several attempts.",
      );
      return;
    }
    if (!modelReady) await loadModel();
    if (!modelReady) {
      await queue.finishFailed(
        consumer,
        turn,
        "model_unavailable",
        modelDetail ?? "No model is available.",
      );
      return;
    }
    const history = await readHistory(redis, turn.token);
    const at = history.findIndex((m) => m.role === "user" && m.id === turn.turn);
    // Gone from history means the session expired; FINISH_TURN acknowledges and drops it.
    const messages = at >= 0 ? history.slice(0, at + 1) : [];
    let reply = "";
    let outcome: AppendOutcome = "go_on";
    const onOutcome = (o: AppendOutcome) => {
      if (o === "go_on") return;
      outcome = o;
      abort.abort(o);
    };
    const writer = new ReplyWriter(async (text, offset) => {
      const r = await queue.append(turn, text, offset);
      return r === 1 ? "stop" : r === -1 ? "session_gone" : r === -2 ? "not_streaming" : "go_on";
    }, onOutcome);
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
    const reason = abort.signal.reason ?? outcome;
    if (reason === "lost" || reason === "not_streaming") return; // another worker has it
    if (reason === "shutdown") return; // left pending: another worker will claim it
    const stopped = reason === "stop";
    if (!stopped && !reply.trim() && messages.length) {
      throw new ModelError("The model returned an empty answer.");
    }
    await queue.finishDone(consumer, turn, reply, stopped);
  } catch (err) {
    if (abort.signal.reason === "shutdown") return;
    log(`turn ${turn.turn} failed:`, err instanceof Error ? err.message : err);
    const message = err instanceof ModelError || err instanceof ModelUnavailableError
      ? err.message
      : "The model failed to answer. Please try again.";
    await queue.finishFailed(consumer, turn, codeOf(err), message).catch((e) =>
      log("recording the failure failed:", String(e))
    );
  } finally {
    running.delete(turn.entryId);
    waker.wake();
  }
}

async function heartbeat() {
  const list = [...running.values()];
  if (!list.length) return;
  const states = await queue.heartbeat(consumer, list.map((r) => r.turn));
  states.forEach((state, i) => {
    if (state === 1) list[i].abort.abort("stop");
    if (state === -1) list[i].abort.abort("lost");
  });
}

async function poll() {
  const delay = new AdaptiveDelay(5, IDLE_POLL_MAX_MS, 500, 25);
  let nextClaim = 0;
  let nextTrim = Date.now() + 60_000;
  while (!stopping) {
    const free = concurrency - running.size;
    if (free <= 0) {
      await waker.sleep(1000);
      continue;
    }
    try {
      let claimed: QueuedTurn[] = [];
      if (Date.now() >= nextClaim) {
        nextClaim = Date.now() + Math.max(1000, CLAIM_IDLE_MS / 2);
        claimed = await queue.claimStale(consumer, CLAIM_IDLE_MS, free);
        if (claimed.length) log(`claimed ${claimed.length} turn(s) left by a dead worker`);
        for (const turn of claimed) handle(turn, true);
      }
      const fresh = claimed.length < free ? await queue.read(consumer, free - claimed.length) : [];
      for (const turn of fresh) handle(turn, false);
      if (Date.now() >= nextTrim) {
        nextTrim = Date.now() + 60_000;
        await queue.trim();
      }
      if (claimed.length || fresh.length) {
        delay.hit();
        continue;
      }
    } catch (err) {
      log("polling failed:", err instanceof Error ? err.message : err);
    }
    await waker.sleep(delay.miss());
  }
}

async function shutdown() {
  if (stopping) return;
  stopping = true;
  waker.wake();
  log("shutting down: finishing turns in progress");
  const deadline = Date.now() + 20_000;
  while (running.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const r of running.values()) r.abort.abort("shutdown");
  await withdraw(redis, consumer).catch(() => {});
  await provider.close().catch(() => {});
  Deno.exit(0);
}

Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);

await queue.ensureGroup();
log(`started (${provider.name}, ${concurrency} at once)`);
await loadModel();
setInterval(() => modelReady ? announceStatus() : loadModel(), ANNOUNCE_EVERY_MS);
setInterval(() => heartbeat().catch((err) => log("heartbeat failed:", String(err))), HEARTBEAT_MS);
await poll();

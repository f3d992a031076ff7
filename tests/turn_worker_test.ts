// The worker without a process: its decisions as pure functions, and a TurnWorker driven in this
// test against a real redis-server (through the REST bridge) with a scripted provider.
import assert from "node:assert/strict";
import { startBridge } from "../dev/bridge.ts";
import { startRedisServer } from "../dev/redis_server.ts";
import type { GenerateRequest, ModelProvider } from "../lib/providers/types.ts";
import { createRedis } from "../lib/redis/client.ts";
import { readHistory, readHistoryMembers } from "../lib/redis/history.ts";
import { TurnQueue } from "../lib/redis/turn_queue.ts";
import { workerRegistry } from "../lib/redis/worker_registry.ts";
import { createSession } from "../lib/server/session.ts";
import { endTurn, MAX_DELIVERIES, startTurn } from "../lib/worker/decisions.ts";
import { TurnWorker } from "../lib/worker/turn_worker.ts";
import type { WakeSource } from "../lib/worker/turn_intake.ts";
import { RunningTurns } from "../lib/worker/running_turns.ts";
import type { QueuedTurn } from "../lib/redis/queued_turn.ts";
import { handoffSubscription } from "../lib/redis/subscription.ts";
import { workerChannel } from "../lib/redis/handoff.ts";
import { RespConnection } from "../dev/resp.ts";
import { waitFor } from "./support/wait.ts";

Deno.test("startTurn: malformed entries are acked, repeat offenders given up, no model refused", () => {
  const turn = { token: "t", turn: "u1" };
  assert.equal(startTurn({ token: "", turn: "u1" }, false, 1, true).kind, "ack_only");
  assert.equal(startTurn(turn, true, MAX_DELIVERIES + 1, true).kind, "give_up");
  assert.equal(startTurn(turn, false, MAX_DELIVERIES + 1, true).kind, "run", "only claims count");
  assert.equal(startTurn(turn, false, 1, false).kind, "model_unavailable");
  assert.equal(startTurn(turn, true, 2, true).kind, "run");
});

Deno.test("endTurn: stop keeps the text, a lost or shutdown turn is left, silence is an error", () => {
  assert.deepEqual(endTurn("stop", "Hel", true), { kind: "done", stopped: true });
  assert.deepEqual(endTurn("stop", "", true), { kind: "done", stopped: true });
  assert.deepEqual(endTurn(null, "Hello", true), { kind: "done", stopped: false });
  for (const reason of ["lost", "not_streaming", "shutdown"] as const) {
    assert.deepEqual(endTurn(reason, "Hel", true), { kind: "leave" });
  }
  assert.equal(endTurn(null, "  ", true).kind, "failed");
  assert.deepEqual(endTurn(null, "", false), { kind: "done", stopped: false }, "session gone");
});

/** A provider that answers every turn with `words`, one word per `delayMs`. */
function scripted(words: string[], delayMs = 5): ModelProvider & { seen: string[][] } {
  const seen: string[][] = [];
  return {
    name: "scripted/test",
    seen,
    ready: () => Promise.resolve(),
    async *generate({ messages, signal }: GenerateRequest) {
      seen.push(messages.map((m) => m.content));
      for (const word of words) {
        if (signal.aborted) return;
        await new Promise((r) => setTimeout(r, delayMs));
        yield word;
      }
    },
    close: () => Promise.resolve(),
  };
}

Deno.test("a TurnWorker answers a queued turn, commits it once and stops in order", async () => {
  const server = await startRedisServer();
  const bridge = await startBridge({ redisPort: server.port, token: "t" });
  const redis = createRedis({ url: bridge.url, token: "t" });
  const queue = new TurnQueue(redis, 3600);
  const provider = scripted(["Hello", " there", "."]);
  const lines: string[] = [];
  const worker = new TurnWorker({
    queue,
    provider,
    registry: workerRegistry(redis),
    history: (token, conversation) => readHistoryMembers(redis, token, conversation),
  }, { concurrency: 2, claimIdleMs: 5000, consumer: "w-test", log: (l) => lines.push(l) });
  const running = worker.run();
  try {
    const { token } = await createSession(redis, "Ada", 3600);
    assert.equal((await queue.accept(token, "u1", "Hi")).outcome, "queued");
    await waitFor(async () => (await readHistory(redis, token)).length === 2, "the reply");
    const history = await readHistory(redis, token);
    assert.deepEqual(history.map((m) => [m.role, m.content]), [
      ["user", "Hi"],
      ["assistant", "Hello there."],
    ]);
    assert.deepEqual(provider.seen, [["Hi"]], "the model saw the conversation up to the turn");
    assert.ok(lines.some((l) => l.includes("model ready: scripted/test")), lines.join("\n"));
  } finally {
    await worker.stop(1000);
    await running;
    await bridge.close();
    await server.stop();
  }
  assert.equal(worker.modelReady, true);
});

Deno.test("RunningTurns: a turn runs once, even when it reaches the worker twice", () => {
  const turns = new RunningTurns(2);
  const turn = (entryId: string) =>
    ({ entryId, token: "t", turn: entryId, requestId: "", conversation: "default" }) as QueuedTurn;
  assert.ok(turns.start(turn("1-0")));
  assert.equal(turns.start(turn("1-0")), null, "running");
  assert.ok(turns.start(turn("2-0")));
  assert.equal(turns.free, 0);
  assert.equal(turns.end("1-0"), true, "it was full: turns may wait undelivered");
  assert.equal(turns.start(turn("1-0")), null, "ended lately");
  assert.equal(turns.end("2-0"), false);
  assert.deepEqual([turns.size, turns.free], [0, 2]);
});

Deno.test("a hand-off lost on its way runs once its worker subscribes again", async () => {
  const server = await startRedisServer();
  const bridge = await startBridge({ redisPort: server.port, token: "t" });
  const endpoint = { url: bridge.url, token: "t" };
  const redis = createRedis(endpoint);
  const resp = await RespConnection.connect(server.port, { password: server.password });
  const queue = new TurnQueue(redis, 3600);
  // A subscription that loses the next hand-off, then (re)subscribes, as a dropped stream would.
  const real = handoffSubscription(endpoint);
  let loseNext = false;
  const lossy: WakeSource = {
    start: (consumer, handlers) =>
      real.start(consumer, {
        handed: (handoff) => {
          if (!loseNext) return handlers.handed(handoff);
          loseNext = false;
          setTimeout(handlers.ready, 100);
        },
        ready: handlers.ready,
      }),
    close: () => real.close(),
  };
  // No claim (60 s) and no tick read (30 s) within the test: only the worker's own look can find it.
  const worker = new TurnWorker({
    queue,
    provider: scripted(["Hi", "."]),
    registry: workerRegistry(redis),
    history: (token, conversation) => readHistoryMembers(redis, token, conversation),
    wakeups: lossy,
  }, { concurrency: 4, claimIdleMs: 60_000, consumer: "w-sub", log: () => {} });
  const running = worker.run();
  const workers = [{ id: "w-sub", capacity: 4 }];
  try {
    const { token } = await createSession(redis, "Ada", 3600);
    const numsub = async () =>
      (await resp.send([["PUBSUB", "NUMSUB", workerChannel("w-sub")]]))[0] as [unknown, number];
    await waitFor(async () => (await numsub())[1] === 1, "the worker's subscription");
    assert.equal((await queue.accept(token, "u1", "Hi", "", { workers })).worker, "w-sub");
    await waitFor(async () => (await readHistory(redis, token)).length === 2, "the first reply");
    loseNext = true;
    assert.equal((await queue.accept(token, "u2", "Again", "", { workers })).worker, "w-sub");
    await waitFor(
      async () => (await readHistory(redis, token)).length === 4,
      "the reply to the turn whose hand-off was lost",
      5000,
    );
    assert.equal(loseNext, false, "the hand-off was lost");
  } finally {
    await worker.stop(1000);
    await running;
    await resp.close();
    await bridge.close();
    await server.stop();
  }
});

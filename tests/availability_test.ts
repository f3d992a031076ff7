// The web server's cached view of the workers: a turn after a pause answers from the last known
// ready worker at once (and refreshes behind it), but never refuses on a stale "no model"; health
// and other callers never see a stale answer.
import assert from "node:assert/strict";
import { cachedAvailability } from "../lib/server/availability.ts";
import type { Redis } from "../lib/redis/client.ts";
import { assertDone, sendTurn } from "./support/chat.ts";
import { ChatClient, newSession, startStack } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Redis whose workers hash answers after `delayMs`, with a worker whose readiness we set. */
function fakeRedis(delayMs: number) {
  const state = { ready: true, reads: 0, order: [] as string[] };
  const redis = {
    async hgetall() {
      state.reads++;
      await sleep(delayMs);
      state.order.push("read");
      const status = { model: "m", ready: state.ready, until: Date.now() + 60_000 };
      return ["w1", JSON.stringify(status)];
    },
    hdel: () => Promise.resolve(0),
  } as unknown as Redis;
  return { redis, state };
}

Deno.test("a turn after a pause is not held up by a refresh; health waits for it", async () => {
  const { redis, state } = fakeRedis(150);
  const availability = cachedAvailability(redis, 20, 10_000);
  assert.equal((await availability(true)).available, true, "the first answer is read");
  assert.equal(state.reads, 1);
  await sleep(40);
  state.ready = false;
  state.order.length = 0;
  const stale = await availability(true);
  state.order.push("answer");
  assert.equal(stale.available, true, "the last known answer");
  await sleep(200);
  assert.deepEqual(state.order, ["answer", "read"], "given before the refresh's read finished");
  assert.equal(state.reads, 2, "and a refresh started behind it");
  assert.equal((await availability()).available, false, "a caller that needs it fresh waits");
});

Deno.test("the refresh behind a stale answer starts after the turn's own request", async () => {
  const { redis, state } = fakeRedis(1);
  const asked: string[] = [];
  const hgetall = redis.hgetall.bind(redis);
  redis.hgetall = ((...args: Parameters<typeof hgetall>) => {
    asked.push("refresh");
    return hgetall(...args);
  }) as typeof redis.hgetall;
  const availability = cachedAvailability(redis, 5, 10_000);
  await availability(true);
  await sleep(20);
  asked.length = 0;
  await Promise.all([availability(true), availability(true)]);
  asked.push("turn");
  await sleep(20);
  assert.deepEqual(asked, ["turn", "refresh"], "one refresh, after the turn's request");
  assert.equal(state.reads, 2);
});

Deno.test("an answer older than the stale limit is read again before it is used", async () => {
  const { redis, state } = fakeRedis(10);
  const availability = cachedAvailability(redis, 5, 30);
  await availability(true);
  state.ready = false;
  await sleep(60);
  assert.equal((await availability(true)).available, false);
});

Deno.test("a stale 'no model' is never the answer: a turn reads again before it refuses", async () => {
  // A web server whose first health probe came before any worker was ready (the second server of
  // a stack checked only for a response) refused its first turn with model_unavailable for up to
  // the stale limit, though a worker had been ready all along.
  const { redis, state } = fakeRedis(1);
  const availability = cachedAvailability(redis, 5, 10_000);
  state.ready = false;
  assert.equal((await availability()).available, false, "no worker ready at startup");
  state.ready = true;
  await sleep(20);
  assert.equal((await availability(true)).available, true, "the turn sees the ready worker");
  assert.equal(state.reads, 2);
});

Deno.test(
  "a web server that saw no worker at startup answers its first turn once one is ready",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    // What made push_test's second web server answer its first turn with an error once in CI: the
    // stack only checked that it responded, before the worker was ready.
    const stack = await startStack({ servers: 2, workers: 0 });
    try {
      const health = async (url: string) => {
        const res = await fetch(`${url}/api/health`);
        await res.body?.cancel();
        return res.status;
      };
      assert.notEqual(await health(stack.baseUrls[1]), 200, "no worker yet");
      await stack.startWorker();
      await waitFor(async () => await health(stack.baseUrls[0]) === 200, "a ready worker", 30_000);
      await sleep(2500); // past the fresh answer's age, within the stale limit
      const url = stack.baseUrls[1];
      const client = await ChatClient.connect(url, await newSession(url));
      assertDone(await sendTurn(client, "t1", "hello"), stack.logs);
      client.close();
    } finally {
      await stack.stop();
    }
  },
);

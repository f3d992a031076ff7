// The queue's guarantees on a real redis-server: exactly one commit per turn even when a worker
// presumed dead comes back, trimming that keeps what is still needed, batched delta writes.
import assert from "node:assert/strict";
import { REQUESTS_STREAM, sessionKeyList, sessionKeys, WORKER_GROUP } from "../lib/redis/keys.ts";
import { decodeOutcome, UnexpectedOutcome } from "../lib/redis/script_runner.ts";
import { ACCEPT_TURN } from "../lib/redis/scripts.ts";
import { ReplyWriter } from "../lib/worker/reply_writer.ts";
import { readHistory } from "../lib/redis/history.ts";
import { withQueue } from "./support/queue.ts";
import { createSession } from "../lib/server/session.ts";
import type { RedisEndpoint } from "../lib/redis/client.ts";
import type { Handoff } from "../lib/redis/handoff.ts";
import { handoffSubscription } from "../lib/redis/subscription.ts";
import { readMembers } from "../lib/redis/message_members.ts";
import { toTurn } from "../lib/redis/queued_turn.ts";
import type { RespConnection } from "../dev/resp.ts";
import { waitFor } from "./support/wait.ts";

Deno.test("a worker presumed dead cannot commit after another claimed its turn", async () => {
  await withQueue(async (queue) => {
    const { token } = await createSession(queue.redis, "Ada", 3600);
    assert.equal((await queue.accept(token, "t1", "hi")).outcome, "queued");
    assert.equal((await queue.accept(token, "t1", "hi")).outcome, "duplicate");
    const [turn] = (await queue.poll("slow", { count: 10 })).fresh;
    assert.equal(turn.turn, "t1");
    await new Promise((r) => setTimeout(r, 20));
    const [claimed] = (await queue.poll("rescuer", { count: 10, claimIdleMs: 10 })).claimed;
    assert.equal(claimed.entryId, turn.entryId);
    assert.deepEqual(
      await queue.heartbeat("slow", [turn]),
      ["lost"],
      "the slow one learns it lost it",
    );
    assert.equal(await queue.finishDone("slow", turn, "late reply", false), "not_owner");
    assert.equal(await queue.finishDone("rescuer", claimed, "the reply", false), "committed");
    assert.equal(
      await queue.finishDone("rescuer", claimed, "again", false),
      "not_owner",
      "acked: no owner",
    );
    const history = await readHistory(queue.redis, token);
    assert.deepEqual(history.map((m) => m.content), ["hi", "the reply"]);
    const pending = await queue.redis.xpending(REQUESTS_STREAM, "workers", "-", "+", 10);
    assert.deepEqual(pending, []);
  });
});

Deno.test("stop requests reach the worker through its heartbeat and its writes", async () => {
  await withQueue(async (queue) => {
    const { token } = await createSession(queue.redis, "Ada", 3600);
    await queue.accept(token, "t1", "hi");
    const [turn] = (await queue.poll("w", { count: 1 })).fresh;
    assert.equal(await queue.append(turn, "Hel", 0), "go_on");
    assert.equal(await queue.requestStop(token, "t1"), true);
    assert.deepEqual(await queue.heartbeat("w", [turn]), ["stop"]);
    assert.equal(await queue.append(turn, "lo", 3), "stop");
    assert.equal(await queue.finishDone("w", turn, "Hello", true), "committed");
    assert.equal(await queue.requestStop(token, "t1"), false, "nothing left to stop");
    await queue.redis.del(...sessionKeyList(token));
    assert.equal(await queue.append(turn, "x", 5), "session_gone", "session gone");
  });
});

Deno.test("trimming the requests stream keeps pending and undelivered turns", async () => {
  await withQueue(async (queue) => {
    const { token } = await createSession(queue.redis, "Ada", 3600);
    for (let i = 0; i < 6; i++) await queue.accept(token, `t${i}`, `m${i}`);
    const read = (await queue.poll("w", { count: 4 })).fresh; // t0..t3 delivered
    for (const turn of read.slice(0, 2)) await queue.finishDone("w", turn, "ok", false);
    await queue.trim();
    // t0, t1 are done and go; t2, t3 are pending and t4, t5 undelivered: they stay.
    const left = await queue.redis.xlen(REQUESTS_STREAM);
    assert.equal(left, 4);
    for (const turn of read.slice(2)) await queue.finishDone("w", turn, "ok", false);
    const rest = (await queue.poll("w", { count: 10 })).fresh;
    assert.deepEqual(rest.map((t) => t.turn), ["t4", "t5"]);
  });
});

Deno.test("fast tokens are batched into few writes, in order, with offsets", async () => {
  const writes: [string, number][] = [];
  const writer = new ReplyWriter(async (text, offset) => {
    writes.push([text, offset]);
    await new Promise((r) => setTimeout(r, 15)); // a Redis round trip
    return "go_on";
  }, () => {});
  const pieces = Array.from({ length: 200 }, (_, i) => `t${i} `);
  for (const piece of pieces) {
    writer.push(piece);
    await new Promise((r) => setTimeout(r, 1));
  }
  await writer.drain();
  assert.equal(writes.map(([t]) => t).join(""), pieces.join(""));
  assert.ok(writes.length < 40, `${writes.length} writes for 200 tokens`);
  assert.equal(writes[0][0], "t0 ", "the first token goes out at once");
  let offset = 0;
  for (const [text, at] of writes) {
    assert.equal(at, offset);
    offset += text.length;
  }
});

Deno.test("a script answer that is not one of its named outcomes is an error, not a guess", () => {
  assert.equal(decodeOutcome(ACCEPT_TURN, "queued"), "queued");
  assert.throws(() => decodeOutcome(ACCEPT_TURN, 1), UnexpectedOutcome);
  assert.throws(() => decodeOutcome(ACCEPT_TURN, "committed"), /accept_turn answered "committed"/);
});

/** Listens on the channels of the named workers; resolves once every one is subscribed. */
async function listen(endpoint: RedisEndpoint, workers: string[]) {
  const heard = new Map<string, Handoff[]>(workers.map((w) => [w, []]));
  const ready: Promise<void>[] = [];
  const subs = workers.map((w) => {
    let subscribed!: () => void;
    ready.push(new Promise((r) => subscribed = r));
    const sub = handoffSubscription(endpoint);
    sub.start(w, { handed: (h) => heard.get(w)!.push(h), ready: () => subscribed() });
    return sub;
  });
  await Promise.all(ready);
  return { heard, close: () => subs.forEach((s) => s.close()) };
}

const owners = async (resp: RespConnection) =>
  ((await resp.send([["XPENDING", REQUESTS_STREAM, WORKER_GROUP, "-", "+", "100"]]))[0] as [
    Uint8Array,
    Uint8Array,
  ][]).map(([id, owner]) => [text(id), text(owner)]);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("a queued turn is handed to the least loaded worker that listens, with its conversation", async () => {
  await withQueue(async (queue, resp, endpoint) => {
    const a = (await createSession(queue.redis, "Ada", 3600)).token;
    const b = (await createSession(queue.redis, "Bob", 3600)).token;
    assert.equal((await queue.accept(a, "a1", "first")).outcome, "queued");
    const [first] = (await queue.poll("w0", { count: 10 })).fresh;
    assert.equal(await queue.finishDone("w0", first, "one", false), "committed");
    const { heard, close } = await listen(endpoint, ["w1", "w2"]);
    try {
      const w1 = { id: "w1", capacity: 2 };
      // The most free slots wins: w2.
      const a2 = await queue.accept(a, "a2", "second", "", {
        userName: "Ada",
        workers: [w1, { id: "w2", capacity: 3 }],
      });
      assert.deepEqual([a2.outcome, a2.worker], ["queued", "w2"]);
      await waitFor(() => heard.get("w2")!.length === 1, "w2's hand-off");
      const [handoff] = heard.get("w2")!;
      const turn = toTurn(handoff.entry);
      assert.deepEqual([turn.turn, turn.token, turn.userName], ["a2", a, "Ada"]);
      assert.deepEqual(readMembers(handoff.members!), await readHistory(queue.redis, a));
      assert.deepEqual(readMembers(handoff.members!).map((m) => m.content), [
        "first",
        "one",
        "second",
      ]);
      // w2 is full now (one pending of one): w1 gets the next.
      const b1 = await queue.accept(b, "b1", "hi", "", {
        workers: [w1, { id: "w2", capacity: 1 }],
      });
      assert.equal(b1.worker, "w1");
      // A worker nobody listens for is passed over: the turn goes to the next (and is its own).
      const b2 = await queue.accept(b, "b2", "again", "", {
        workers: [{ id: "w9", capacity: 9 }, w1],
      });
      assert.equal(b2.worker, "w1");
      await waitFor(() => heard.get("w1")!.length === 2, "w1's hand-offs");
      assert.deepEqual(heard.get("w1")!.map((h) => toTurn(h.entry).turn), ["b1", "b2"]);
      const byTurn = new Map((await owners(resp)).map(([id, owner]) => [id, owner]));
      assert.equal(byTurn.get(heard.get("w1")![1].entry[0]), "w1");
      // Every worker full: the turn waits undelivered for whoever reads next.
      const b3 = await queue.accept(b, "b3", "more", "", { workers: [w1] });
      assert.equal(b3.worker, null);
      assert.deepEqual((await queue.poll("w3", { count: 10 })).fresh.map((t) => t.turn), ["b3"]);
    } finally {
      close();
    }
  });
});

Deno.test("a hand-off nobody heard puts the turn back for whichever worker reads next", async () => {
  await withQueue(async (queue) => {
    const { token } = await createSession(queue.redis, "Ada", 3600);
    const accepted = await queue.accept(token, "t1", "hi", "", {
      workers: [{ id: "gone", capacity: 4 }, { id: "gone-too", capacity: 4 }],
    });
    assert.deepEqual([accepted.outcome, accepted.worker], ["queued", null]);
    assert.deepEqual(await queue.ownTurns("gone", 10, []), []);
    assert.deepEqual(await queue.ownTurns("gone-too", 10, []), []);
    const [turn] = (await queue.poll("other", { count: 10 })).fresh;
    assert.equal(turn?.turn, "t1");
    // The turn's state names the entry it lives in now (the web server ends orphans by it).
    assert.equal(await queue.redis.hget(sessionKeys(token).turns, "t1:entry"), turn.entryId);
    assert.equal(await queue.finishDone("other", turn, "hello", false), "committed");
  });
});

Deno.test("a hand-off lost on its way is found by its worker among its own pending turns", async () => {
  await withQueue(async (queue, _resp, endpoint) => {
    const { token } = await createSession(queue.redis, "Ada", 3600);
    const { close } = await listen(endpoint, ["w5"]);
    try {
      const accepted = await queue.accept(token, "t1", "hi", "", {
        workers: [{ id: "w5", capacity: 4 }],
      });
      assert.equal(accepted.worker, "w5");
    } finally {
      close();
    }
    assert.deepEqual((await queue.poll("other", { count: 10 })).fresh, [], "delivered to w5");
    const own = await queue.ownTurns("w5", 10, []);
    assert.deepEqual(own.map((t) => t.turn), ["t1"]);
    assert.deepEqual(await queue.ownTurns("w5", 10, [own[0].entryId]), [], "running: skipped");
    assert.equal(await queue.finishDone("w5", own[0], "hello", false), "committed");
    assert.deepEqual(await queue.ownTurns("w5", 10, []), []);
  });
});

Deno.test("a burst of a script's first calls loads it once instead of sending it with each", async () => {
  // With EVAL as the fallback, 300 calls batched into one request carried the script 300 times
  // (over 1 MiB) and the bridge refused the request: every turn of the burst failed.
  await withQueue(async (queue) => {
    const { token } = await createSession(queue.redis, "Ada", 3600);
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => queue.accept(token, `burst${i}`, `m${i}`)),
    );
    assert.deepEqual(new Set(outcomes.map((o) => o.outcome)), new Set(["queued"]));
  });
});

// The queue's guarantees on a real redis-server: exactly one commit per turn even when a worker
// presumed dead comes back, trimming that keeps what is still needed, batched delta writes.
import assert from "node:assert/strict";
import { REQUESTS_STREAM, sessionKeyList } from "../lib/redis/keys.ts";
import { decodeOutcome, UnexpectedOutcome } from "../lib/redis/script_runner.ts";
import { ACCEPT_TURN } from "../lib/redis/scripts.ts";
import { ReplyWriter } from "../lib/worker/reply_writer.ts";
import { readHistory } from "../lib/redis/history.ts";
import { withQueue } from "./support/queue.ts";
import { createSession } from "../lib/server/session.ts";

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

Deno.test("a pushed read brings the named turn's history along, and only that one's", async () => {
  await withQueue(async (queue) => {
    const a = (await createSession(queue.redis, "Ada", 3600)).token;
    const b = (await createSession(queue.redis, "Bob", 3600)).token;
    assert.equal((await queue.accept(a, "a1", "first")).outcome, "queued");
    const [first] = (await queue.poll("w", { count: 10 })).fresh;
    assert.equal(await queue.finishDone("w", first, "one", false), "committed");
    const named = { userName: "Ada" };
    assert.equal((await queue.accept(a, "a2", "second", "", named)).outcome, "queued");
    assert.equal((await queue.accept(b, "b1", "hello")).outcome, "queued");

    const { fresh, prefetched } = await queue.take("w", 10, { token: a, conversation: "default" });
    assert.deepEqual(fresh.map((t) => [t.turn, t.userName]), [["a2", "Ada"], ["b1", null]]);
    assert.equal(prefetched?.entryId, fresh[0].entryId);
    assert.deepEqual(prefetched?.history, await readHistory(queue.redis, a));
    assert.deepEqual(prefetched?.history.map((m) => m.content), ["first", "one", "second"]);

    // A push whose turn another worker already took reads nothing else.
    assert.equal((await queue.accept(b, "b2", "again")).outcome, "queued");
    const other = await queue.take("w", 10, { token: a, conversation: "default" });
    assert.deepEqual(other.fresh.map((t) => t.turn), ["b2"]);
    assert.equal(other.prefetched, null);
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

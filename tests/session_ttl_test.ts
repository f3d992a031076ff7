// A session's TTL slides in steps (ACCEPT_TURN skips the EXPIREs when a plain turn creates no key
// and the last slide is recent), so these check the two ways that could go wrong: a key left
// without a TTL (it would never expire) and a TTL that never slides. Also what a turn costs.
import assert from "node:assert/strict";
import type { RespConnection } from "../dev/resp.ts";
import { ConversationStore } from "../lib/redis/conversations.ts";
import { sessionKeyList, sessionKeys } from "../lib/redis/keys.ts";
import { SLID_FIELD } from "../lib/redis/scripts.ts";
import type { QueuedTurn, TurnQueue } from "../lib/redis/turn_queue.ts";
import { createSession } from "../lib/server/session.ts";
import { withQueue } from "./support/queue.ts";

const TTL = 3600;

async function ttls(resp: RespConnection, token: string): Promise<number[]> {
  const replies = await resp.send(sessionKeyList(token).map((k) => ["TTL", k]));
  return replies.map(Number);
}

/** Every key of the session that exists has a TTL (-1: none; -2: absent, which is fine). */
async function assertAllExpire(resp: RespConnection, token: string, when: string) {
  const keys = sessionKeyList(token);
  (await ttls(resp, token)).forEach((ttl, i) =>
    assert.ok(ttl !== -1, `${when}: ${keys[i].split(":").slice(0, 2).join(":")} has no TTL`)
  );
}

async function answer(queue: TurnQueue, reply: string): Promise<QueuedTurn> {
  const [turn] = (await queue.poll("w", { count: 1 })).fresh;
  assert.equal(await queue.finishDone("w", turn, reply, false), "committed");
  return turn;
}

Deno.test("every key a turn may create or re-create gets the session's TTL", async () => {
  await withQueue(async (queue, resp) => {
    const store = new ConversationStore(queue.redis, TTL, 100);
    const { token } = await createSession(queue.redis, "Ada", TTL);
    assert.equal((await queue.accept(token, "a1", "first")).outcome, "queued");
    await answer(queue, "one");
    await assertAllExpire(resp, token, "after the first turn");
    // Deleting the only conversation empties the history set and the index hash (Redis deletes
    // empty keys); the next turn re-creates both.
    assert.equal(await store.delete(token, "default"), "deleted");
    assert.equal(
      (await queue.accept(token, "a2", "again", "", { conversation: "default" })).outcome,
      "queued",
    );
    await answer(queue, "two");
    await assertAllExpire(resp, token, "after re-creating the conversation");
    // An edit of the first message removes every message: the set is re-created in the script.
    assert.equal(
      (await queue.accept(token, "a3", "edited", "", { kind: "edit", target: "a2" })).outcome,
      "queued",
    );
    await answer(queue, "three");
    await assertAllExpire(resp, token, "after an edit that emptied the conversation");
  });
});

Deno.test("plain turns slide the TTL at most once a minute, and never lose it", async () => {
  await withQueue(async (queue, resp) => {
    const { token } = await createSession(queue.redis, "Ada", TTL);
    assert.equal((await queue.accept(token, "b0", "first")).outcome, "queued");
    await answer(queue, "zero");
    // Age the session as if its last slide were an hour ago: the next turn must slide every key.
    for (const key of sessionKeyList(token)) await resp.send([["EXPIRE", key, "100"]]);
    await resp.send([["HSET", sessionKeys(token).turns, SLID_FIELD, "0"]]);
    assert.equal((await queue.accept(token, "b1", "later")).outcome, "queued");
    await answer(queue, "one");
    for (const ttl of await ttls(resp, token)) assert.ok(ttl > TTL - 5, `TTL ${ttl} did not slide`);

    await resp.send([["CONFIG", "RESETSTAT"]]);
    const turns = 5;
    for (let i = 2; i < turns + 2; i++) {
      assert.equal((await queue.accept(token, `b${i}`, `q${i}`)).outcome, "queued");
      const turn = (await queue.poll("w", { count: 1 })).fresh[0];
      assert.equal(await queue.append(turn, "a", 0), "go_on");
      assert.equal(
        await queue.finishDone("w", turn, "ab", false, { text: "b", offset: 1 }),
        "committed",
      );
    }
    const [info] = await resp.send([["INFO", "commandstats"]]);
    const stats = new TextDecoder().decode(info as Uint8Array);
    const calls = (name: string) =>
      Number(stats.match(new RegExp(`cmdstat_${name}:calls=(\\d+)`))?.[1] ?? 0);
    assert.equal(calls("expire"), 0, "a turn a minute after the last slide costs no EXPIRE");
    const total = [...stats.matchAll(/calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    // accept, read, one delta, finish with the last delta (no history read: the worker's own).
    assert.ok(total / turns <= 27, `${total / turns} Redis commands per turn`);
  });
});

// The worker's conversation cache: a hand-off of only the newest messages rebuilds the whole
// conversation from what was kept, and anything that cannot be trusted is a miss (read instead).
import assert from "node:assert/strict";
import type { Message } from "../lib/contract/frames.ts";
import { messageMember } from "../lib/redis/message_members.ts";
import { ConversationCache } from "../lib/worker/conversation_cache.ts";

const message = (seq: number, text = `m${seq}`): Message => ({
  id: `id${seq}`,
  role: seq % 2 ? "user" : "assistant",
  content: text,
  timestamp: "2026-12-04T00:00:00.000Z",
});
/** Members at these seqs, as the scripts store them. */
const members = (...seqs: number[]) => seqs.map((s) => messageMember("c", s, message(s)));
const texts = (messages: Message[] | null) => messages?.map((m) => m.content) ?? null;
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

Deno.test("a tail extends what was kept, replacing the messages it repeats", () => {
  const cache = new ConversationCache();
  assert.deepEqual(texts(cache.replace("k", members(1, 2, 3))), ["m1", "m2", "m3"]);
  assert.deepEqual(texts(cache.extend("k", members(3, 4, 5), 5)), ["m1", "m2", "m3", "m4", "m5"]);
  // A later tail starts inside what the last one added.
  assert.deepEqual(
    texts(cache.extend("k", members(5, 6, 7), 7)),
    range(1, 7).map((s) => `m${s}`),
  );
});

Deno.test("a tail that does not reach back to what was kept is a miss", () => {
  const cache = new ConversationCache();
  cache.replace("k", members(1, 2));
  assert.equal(cache.extend("k", members(4, 5), 5), null, "seq 3 was never seen");
  assert.equal(cache.size, 0, "and what was kept is dropped");
  assert.equal(cache.extend("other", members(1), 1), null, "nothing kept");
});

Deno.test("a count that disagrees (messages removed meanwhile) is a miss", () => {
  const cache = new ConversationCache();
  cache.replace("k", members(1, 2, 3, 4, 5, 6));
  // Seqs 3..6 were cut (an edit) and 7, 8 written: the tail alone cannot tell.
  assert.equal(cache.extend("k", members(7, 8), 4), null);
  cache.replace("k", members(1, 2, 3, 4, 5, 6));
  assert.deepEqual(texts(cache.extend("k", members(1, 2, 7, 8), 4)), ["m1", "m2", "m7", "m8"]);
});

Deno.test("a read replaces what is kept only if no hand-off or clear came since its mark", () => {
  const cache = new ConversationCache();
  cache.replace("k", members(1, 2));
  const mark = cache.mark("k");
  cache.extend("k", members(2, 3), 3); // a hand-off while the read was in flight
  assert.deepEqual(texts(cache.replaceIf("k", mark, members(1, 2))), ["m1", "m2"]);
  assert.deepEqual(texts(cache.extend("k", members(3, 4), 4)), ["m1", "m2", "m3", "m4"]);

  const before = cache.mark("k");
  cache.clear();
  cache.replaceIf("k", before, members(1, 2));
  assert.equal(cache.size, 0, "a read that began before clear() keeps nothing");
  cache.replaceIf("k", cache.mark("k"), members(1, 2));
  assert.equal(cache.size, 1);
});

Deno.test("the cache is bounded: the least recently used conversation goes first", () => {
  const perConversation = 3 * (2 + 128); // three messages of two characters, as charsOf counts
  const cache = new ConversationCache(2 * perConversation);
  cache.replace("a", members(1, 2, 3));
  cache.replace("b", members(1, 2, 3));
  cache.extend("a", members(3), 3); // "a" used again: "b" is now the oldest
  cache.replace("c", members(1, 2, 3));
  assert.equal(cache.size, 2);
  assert.equal(cache.extend("b", members(3), 3), null);
  assert.notEqual(cache.extend("a", members(3), 3), null);
});

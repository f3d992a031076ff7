// The chat island's pure rules for conversations: the sidebar list (sort, filter, rename, delete
// and undo), edit and regenerate, questions from other tabs (`user` frames), outcomes loaded from
// history, routing frames to their conversation, and when to warn before expiry.
import assert from "node:assert/strict";
import type { Conversation, Message, UserFrame } from "../lib/contract/frames.ts";
import { titleFromMessage } from "../lib/contract/conversations.ts";
import * as list from "../islands/chat/conversation_list.ts";
import { deadline, warning } from "../islands/chat/expiry.ts";
import {
  canRegenerate,
  fromHistory,
  newConversation,
  startEdit,
  startRegenerate,
  startTurn,
} from "../islands/chat/messages.ts";
import { queue, reopenFrames } from "../islands/chat/outbox.ts";
import { receive } from "../islands/chat/replies.ts";
import { Threads } from "../islands/chat/threads.ts";

const conv = (id: string, updated: string, title = ""): Conversation => ({
  id,
  title,
  created_at: "2025-01-01T00:00:00Z",
  updated_at: updated,
  message_count: 0,
});
const msg = (id: string, role: Message["role"], content: string, extra = {}): Message => ({
  id,
  role,
  content,
  timestamp: "2025-01-01T00:00:00Z",
  ...extra,
});
const user = (id: string, message: Message, event: string, extra = {}): UserFrame => ({
  type: "user",
  id,
  message,
  event,
  conversation: "c1",
  ...extra,
});
const shown = (s: { messages: { role: string; content: string; state: string }[] }) =>
  s.messages.map((m) => `${m.role}:${m.content}:${m.state}`);

Deno.test("the list: most recently updated first, moved up by activity, renamed in place", () => {
  let l = list.sortConversations([
    conv("a", "2025-01-01T10:00:00Z"),
    conv("b", "2025-01-02T10:00:00Z"),
  ]);
  assert.deepEqual(l.map((c) => c.id), ["b", "a"]);
  l = list.touch(l, "a", "2025-01-03T00:00:00Z", 1);
  assert.deepEqual(l.map((c) => [c.id, c.message_count]), [["a", 1], ["b", 0]]);
  assert.deepEqual(
    list.touch(l, "zzz", "2030-01-01T00:00:00Z", 1),
    l,
    "unknown ids change nothing",
  );
  assert.equal(
    list.touch(l, "a", "2020-01-01T00:00:00Z").find((c) => c.id === "a")?.updated_at,
    "2025-01-03T00:00:00Z",
    "never older",
  );
  l = list.upsert(l, { ...l[1], title: "Renamed", updated_at: "2025-01-04T00:00:00Z" });
  assert.deepEqual(l.map((c) => [c.id, c.title]), [["b", "Renamed"], ["a", ""]]);
  assert.equal(list.displayTitle(l[1]), "New chat");
});

Deno.test("the title filter: every word, any case, accents ignored; untitled is 'New chat'", () => {
  const l = [conv("1", "1", "Trip to Zürich"), conv("2", "2", "Recipes"), conv("3", "3")];
  assert.deepEqual(list.filterByTitle(l, "zurich TRIP").map((c) => c.id), ["1"]);
  assert.deepEqual(list.filterByTitle(l, "  ").map((c) => c.id), ["1", "2", "3"]);
  assert.deepEqual(list.filterByTitle(l, "new").map((c) => c.id), ["3"]);
  assert.deepEqual(list.filterByTitle(l, "nothing"), []);
});

Deno.test("delete hides at once and can be undone; the next one shown is the most recent", () => {
  const l = [conv("a", "3"), conv("b", "2"), conv("c", "1")];
  const hidden = list.hideForUndo(l, "a")!;
  assert.deepEqual(hidden.list.map((c) => c.id), ["b", "c"]);
  assert.deepEqual(list.undoDelete(hidden.list, hidden.pending).map((c) => c.id), ["a", "b", "c"]);
  assert.equal(list.hideForUndo(l, "nope"), null);
  assert.equal(list.nextAfter(l, "a"), "b");
  assert.equal(list.nextAfter([conv("a", "1")], "a"), null);
});

Deno.test("titles come from the first line, at most 60 characters, never half an emoji", () => {
  assert.equal(titleFromMessage("  Hello there \nmore"), "Hello there");
  assert.equal(titleFromMessage("x".repeat(80)).length, 60);
  assert.equal(Array.from(titleFromMessage("😀".repeat(70))).length, 60);
  assert.equal(titleFromMessage("\n\n"), "");
});

Deno.test("history keeps outcomes: a stopped reply, a failed question with its reason", () => {
  const l = fromHistory([
    msg("t1", "user", "Hi"),
    msg("t1:a", "assistant", "Hel", { stopped: true }),
    msg("t2", "user", "Again", { error: { code: "model_error", message: "Broke." } }),
  ]);
  assert.deepEqual(l.map((m) => [m.state, m.error]), [
    ["done", undefined],
    ["stopped", undefined],
    ["failed", "Broke."],
  ]);
  assert.equal(l[2].turn, "t2", "so Retry can send it again");
});

Deno.test("edit drops the question and everything after it, and asks the new text", () => {
  const base = {
    ...newConversation(),
    messages: fromHistory([
      msg("q1", "user", "one"),
      msg("q1:a", "assistant", "1"),
      msg("q2", "user", "two"),
      msg("q2:a", "assistant", "2"),
    ]),
  };
  const frame = {
    type: "edit" as const,
    id: "e1",
    message: "q1",
    content: "ONE",
    conversation: "c1",
  };
  const edited = startEdit(base, "e1", "q1", "ONE", frame)!;
  assert.deepEqual(shown(edited), ["user:ONE:sending", "assistant::streaming"]);
  assert.equal(edited.activeTurn, "e1");
  assert.deepEqual(
    reopenFrames(edited.outbox, { lastEvent: null, resumeFrom: null, isReconnect: false }),
    [frame],
  );
  assert.equal(startEdit(base, "e2", "nope", "x"), null);
  assert.equal(startEdit(edited, "e3", "e1", "x"), null, "not while a reply runs");
});

Deno.test("regenerate drops the last reply and waits for a new one under the same question", () => {
  const failed = {
    ...newConversation(),
    messages: fromHistory([msg("q1", "user", "one", { error: { code: "x", message: "Failed." } })]),
  };
  assert.equal(canRegenerate(failed), true);
  const again = startRegenerate(failed, "g1")!;
  assert.deepEqual(shown(again), ["user:one:done", "assistant::streaming"]);
  assert.equal(again.messages[0].error, undefined, "its failure is cleared");
  const answered = {
    ...newConversation(),
    messages: fromHistory([msg("q1", "user", "one"), msg("q1:a", "assistant", "old")]),
  };
  assert.deepEqual(shown(startRegenerate(answered, "g2")!), [
    "user:one:done",
    "assistant::streaming",
  ]);
  assert.equal(startRegenerate(newConversation(), "g3"), null, "nothing to answer");
  assert.equal(canRegenerate(again), false, "not while a reply runs");
});

Deno.test("a question from another tab shows once, with its reply coming under it", () => {
  const s = receive(newConversation(), user("t1", msg("t1", "user", "from tab A"), "5-0")).state;
  assert.deepEqual(shown(s), ["user:from tab A:done", "assistant::streaming"]);
  assert.equal(s.activeTurn, "t1", "this tab shows Stop too");
  assert.equal(
    receive(s, user("t1", msg("t1", "user", "from tab A"), "5-0")).state,
    s,
    "a replay changes nothing",
  );
  // The tab that sent it: its own question and reply, now acknowledged by the event.
  const mine = startTurn(newConversation(), "t2", "mine");
  const seen = receive(mine, user("t2", msg("t2", "user", "mine"), "6-0")).state;
  assert.deepEqual(shown(seen), ["user:mine:done", "assistant::streaming"]);
  assert.equal(seen.messages[0].id, "t2");
  // After a reload, a replayed question whose answer the history already holds stays answered.
  const loaded = {
    ...newConversation(),
    messages: fromHistory([msg("t3", "user", "q"), msg("t3:a", "assistant", "a")]),
  };
  const replayed = receive(loaded, user("t3", msg("t3", "user", "q"), "7-0")).state;
  assert.deepEqual(shown(replayed), ["user:q:done", "assistant:a:done"]);
  assert.equal(replayed.activeTurn, null);
});

Deno.test("user frames from other tabs apply edits, retries and regenerates", () => {
  const loaded = {
    ...newConversation(),
    messages: fromHistory([
      msg("q1", "user", "one"),
      msg("q1:a", "assistant", "1"),
      msg("q2", "user", "two", { error: { code: "x", message: "Failed." } }),
    ]),
  };
  const retried =
    receive(loaded, user("q3", msg("q3", "user", "two"), "1-0", { retried: "q2" })).state;
  assert.deepEqual(shown(retried), [
    "user:one:done",
    "assistant:1:done",
    "user:two:done",
    "assistant::streaming",
  ]);
  const edited =
    receive(loaded, user("e1", msg("e1", "user", "ONE"), "1-0", { edited: "q1" })).state;
  assert.deepEqual(shown(edited), ["user:ONE:done", "assistant::streaming"]);
  const answered = {
    ...newConversation(),
    messages: fromHistory([msg("q1", "user", "one"), msg("q1:a", "assistant", "1")]),
  };
  const regen =
    receive(answered, user("g1", msg("q1", "user", "one"), "1-0", { regenerate: true })).state;
  assert.deepEqual(shown(regen), ["user:one:done", "assistant::streaming"]);
  assert.equal(regen.activeTurn, "g1");
});

Deno.test("frames go to their conversation; a nameless error to the one waiting on its turn", () => {
  const threads = new Threads();
  threads.set("a", startTurn(newConversation(), "ta", "hi"));
  threads.set("b", { ...newConversation(), outbox: queue({ turns: [], stop: null }, "tb", "yo") });
  assert.equal(threads.owner({ type: "ack", id: "ta", conversation: "a" }, "x"), "a");
  assert.equal(threads.owner({ type: "error", id: "tb", code: "busy", message: "" }, "x"), "b");
  assert.equal(threads.owner({ type: "error", code: "internal_error", message: "" }, "x"), "a");
  assert.equal(threads.owner({ type: "error", code: "invalid_frame", message: "" }, "x"), "x");
  const frames = threads.reopen({ lastEvent: "9-0", resumeFrom: null, isReconnect: true });
  assert.deepEqual(frames.map((f) => f.type), ["resume", "message", "message"], "one resume");
});

Deno.test("the expiry warning: never while connected; after a disconnect, near the end", () => {
  const ttl = 60 * 60_000;
  const clock = { ttlMs: ttl, aliveAt: 0 };
  assert.equal(warning(clock, true, 10 * ttl), null, "an open socket keeps it alive");
  const end = deadline(clock, false, 0);
  assert.equal(end, ttl - 60_000, "the last keep-alive may be a minute old");
  assert.equal(warning(clock, false, end - 6 * 60_000), null);
  assert.equal(warning(clock, false, end - 4 * 60_000), 4 * 60_000);
  assert.equal(warning(clock, false, end + 1000), 0);
  const short = { ttlMs: 4000, aliveAt: 0 };
  assert.ok(warning(short, false, 2500) !== null, "a quarter of a short session");
});

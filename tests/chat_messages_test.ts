// The chat island's conversation rules, as pure functions: the list, the outbox, and what each
// server frame does to them.
import assert from "node:assert/strict";
import type { DeltaFrame, DoneFrame, ErrorFrame, Message } from "../lib/contract/frames.ts";
import {
  type Conversation,
  expire,
  fromHistory,
  newConversation,
  requestStop,
  startTurn,
  withdrawTurn,
} from "../islands/chat/messages.ts";
import { receive } from "../islands/chat/replies.ts";
import { emptyOutbox, queue, reopenFrames } from "../islands/chat/outbox.ts";
import * as outbox from "../islands/chat/outbox.ts";

const T = "2025-01-01T00:00:00Z";
function asked(id: string, content = "Hi"): Message {
  return { id, role: "user", content, timestamp: T };
}
function stored(id: string, content: string): Message {
  return { id, role: "assistant", content, timestamp: T };
}
function delta(id: string, offset: number, text: string, event: string): DeltaFrame {
  return { type: "delta", id, offset, text, event };
}
function done(id: string, message: Message, event: string, stopped?: true): DoneFrame {
  return { type: "done", id, message, event, ...(stopped ? { stopped } : {}) };
}
const failure = (fields: Omit<ErrorFrame, "type">): ErrorFrame => ({ type: "error", ...fields });

/** A conversation with one question just sent. */
const sent = (turn: string, text: string) => startTurn(newConversation(), turn, text);
/** Feeds frames one after another, as the socket would. */
function feed(state: Conversation, ...frames: Parameters<typeof receive>[1][]): Conversation {
  return frames.reduce((s, f) => receive(s, f).state, state);
}

const reply = (state: Conversation, turn: string) =>
  state.messages.find((m) => m.role === "assistant" && m.turn === turn);
const question = (state: Conversation, turn: string) =>
  state.messages.find((m) => m.role === "user" && m.turn === turn);

Deno.test("history becomes finished messages; a user message's id is its turn", () => {
  const list = fromHistory([asked("t1"), stored("m1", "Hello!")]);
  assert.deepEqual(list.map((m) => [m.key, m.role, m.turn, m.state]), [
    ["t1", "user", "t1", "done"],
    ["m1", "assistant", undefined, "done"],
  ]);
  assert.deepEqual([list[1].id, list[1].content], ["m1", "Hello!"]);
});

Deno.test("a sent question shows as sending until its ack, which also ends its re-sending", () => {
  const s = sent("t1", "Hi");
  assert.deepEqual(s.messages.map((m) => [m.key, m.role, m.state, m.content]), [
    ["t1", "user", "sending", "Hi"],
    ["reply:t1", "assistant", "streaming", ""],
  ]);
  assert.equal(s.activeTurn, "t1");
  const resend = { lastEvent: null, resumeFrom: null, isReconnect: false };
  assert.deepEqual(reopenFrames(s.outbox, resend), [{
    type: "message",
    id: "t1",
    content: "Hi",
  }]);
  const acked = receive(s, { type: "ack", id: "t1" }).state;
  assert.equal(question(acked, "t1")?.state, "done");
  assert.equal(acked.activeTurn, "t1", "the reply is still awaited");
  assert.deepEqual(reopenFrames(acked.outbox, resend), []);
});

Deno.test("deltas land at their offsets; a retried turn restarting at 0 replaces the text", () => {
  let s = sent("t1", "Hi");
  s = feed(s, delta("t1", 0, "Hello", "1-0"), delta("t1", 5, " wor", "1-1"));
  assert.equal(reply(s, "t1")?.content, "Hello wor");
  assert.equal(s.lastEvent, "1-1");
  // Another worker took the turn over after a crash and starts again.
  s = feed(s, delta("t1", 0, "Hi", "1-2"));
  assert.equal(reply(s, "t1")?.content, "Hi");
  s = feed(s, delta("t1", 2, " there", "1-3"));
  assert.equal(reply(s, "t1")?.content, "Hi there");
  assert.equal(reply(s, "t1")?.state, "streaming");
  assert.equal(s.messages.length, 2, "still one question and one reply");
});

Deno.test("a repeated or older event is ignored", () => {
  let s = sent("t1", "Hi");
  s = feed(s, delta("t1", 0, "Hello", "5-0"), delta("t1", 5, " world", "5-1"));
  const replayed = receive(s, delta("t1", 5, " world", "5-1"));
  assert.equal(replayed.state, s, "the same event twice changes nothing");
  const older = receive(s, delta("t1", 0, "Stale", "4-9"));
  assert.equal(older.state, s);
  assert.equal(reply(older.state, "t1")?.content, "Hello world");
  // Event ids compare as numbers: "10-0" is newer than "9-0", though not as a string.
  const newer = receive({ ...s, lastEvent: "9-0" }, delta("t1", 11, "!", "10-0"));
  assert.equal(reply(newer.state, "t1")?.content, "Hello world!");
});

Deno.test("a gap asks once for a replay from the last applied event", () => {
  let s = feed(sent("t1", "Hi"), delta("t1", 0, "Hello", "1-0"));
  const gap = receive(s, delta("t1", 9, "lost", "1-2"));
  assert.equal(gap.resume, "1-0");
  assert.equal(reply(gap.state, "t1")?.content, "Hello", "nothing placed past the hole");
  assert.equal(gap.state.lastEvent, "1-0", "the gap's event is not taken as applied");
  const again = receive(gap.state, delta("t1", 12, "more", "1-3"));
  assert.equal(again.resume, undefined, "one request per gap");
  // The replay fills the hole; a later gap asks again.
  s = feed(again.state, delta("t1", 5, " world", "1-1"));
  assert.equal(reply(s, "t1")?.content, "Hello world");
  assert.equal(receive(s, delta("t1", 40, "x", "1-9")).resume, "1-1");
  assert.equal(receive(newConversation(), delta("t9", 3, "x", "1-0")).resume, "0-0");
});

Deno.test("a reply in progress at reload shows under its question and becomes the active turn", () => {
  const history = fromHistory([asked("t1"), asked("t2", "And?")]);
  const s = feed({ ...newConversation(), messages: history }, delta("t1", 0, "Hel", "3-0"));
  assert.deepEqual(s.messages.map((m) => m.key), ["t1", "reply:t1", "t2"]);
  assert.equal(s.activeTurn, "t1");
  // A turn whose question is not shown goes at the end.
  const t3 = feed(s, delta("t3", 0, "Yo", "3-1"));
  assert.deepEqual(t3.messages.map((m) => m.key), ["t1", "reply:t1", "t2", "reply:t3"]);
  assert.equal(t3.activeTurn, "t1", "an active turn is not taken over");
});

Deno.test("a delta for a turn already answered in the history only advances the event id", () => {
  const history = fromHistory([asked("t1"), stored("m1", "Hello there.")]);
  const before = { ...newConversation(), messages: history };
  const s = receive(before, delta("t1", 0, "Hel", "2-0")).state;
  assert.equal(s.messages, before.messages);
  assert.equal(s.lastEvent, "2-0");
  assert.equal(s.activeTurn, null);
});

Deno.test("done replaces the streamed text with the stored message and frees the composer", () => {
  let s = sent("t1", "Hi");
  s = feed(s, delta("t1", 0, "Hello wor", "1-0"));
  const out = receive(s, done("t1", stored("m1", "Hello world."), "1-1"));
  const r = reply(out.state, "t1");
  assert.deepEqual([r?.key, r?.id, r?.content, r?.state], [
    "reply:t1",
    "m1",
    "Hello world.",
    "done",
  ]);
  assert.equal(question(out.state, "t1")?.state, "done", "a done implies the ack");
  assert.equal(out.state.activeTurn, null);
  assert.deepEqual(out.state.outbox.turns, []);
  assert.equal(out.finished, "1-1");
  assert.equal(out.announce, "Assistant: Hello world.");
  assert.equal(out.health, "up");
  assert.equal(out.state.messages.length, 2);
});

Deno.test("a stopped done keeps the partial reply, marked stopped, and clears stopping", () => {
  let s = sent("t1", "Hi");
  s = feed(s, delta("t1", 0, "Hello", "1-0"));
  s = requestStop(s)!;
  assert.equal(s.stopping, true);
  const out = receive(s, done("t1", stored("m1", "Hello"), "1-1", true));
  assert.equal(reply(out.state, "t1")?.state, "stopped");
  assert.equal(out.state.stopping, false);
  assert.equal(out.state.activeTurn, null);
  assert.equal(out.announce, "Reply stopped.");
});

Deno.test("done for a reply the history already holds updates it and drops the replayed copy", () => {
  const history = fromHistory([asked("t1"), stored("m1", "Hel")]);
  let s = { ...newConversation(), messages: history };
  s = feed(s, delta("t9", 0, "Hello", "1-0")); // a copy streamed at the end
  s = feed(s, done("t9", stored("m1", "Hello!"), "1-1"));
  assert.deepEqual(s.messages.map((m) => [m.key, m.content]), [["t1", "Hi"], ["m1", "Hello!"]]);
});

Deno.test("an error fails the question with its message, and Retry sends it again", () => {
  const error = failure({ id: "t1", code: "model_error", message: "Failed.", event: "1-0" });
  const out = receive(sent("t1", "Hi"), error);
  const s = out.state;
  const shown = s.messages.map((m) => [m.role, m.state, m.error]);
  assert.deepEqual(shown, [["user", "failed", "Failed."]], "an empty reply is removed");
  assert.equal(s.activeTurn, null, "not busy, so Retry is enabled");
  assert.deepEqual(s.outbox.turns, []);
  assert.equal(out.announce, "Failed.");
  assert.equal(out.finished, "1-0");
  assert.equal(out.toast, undefined);
  const retried = withdrawTurn(s, "t1");
  assert.ok(retried);
  assert.equal(retried.content, "Hi");
  assert.deepEqual(retried.state.messages, []);
  const again = startTurn(retried.state, "t2", retried.content);
  assert.deepEqual(again.messages.map((m) => [m.key, m.state]), [
    ["t2", "sending"],
    ["reply:t2", "streaming"],
  ]);
});

Deno.test("an error keeps the text the reply got before it failed", () => {
  let s = feed(sent("t1", "Hi"), delta("t1", 0, "Half", "1-0"));
  s = feed(s, failure({ id: "t1", code: "model_error", message: "Broke.", event: "1-1" }));
  const r = reply(s, "t1");
  assert.deepEqual([r?.content, r?.state, r?.error], ["Half", "failed", "Broke."]);
});

Deno.test("an error without an id fails the oldest unacked turn; else it is a toast", () => {
  let s = sent("t1", "One");
  s = feed(s, { type: "ack", id: "t1" });
  s = { ...s, outbox: queue(s.outbox, "t2", "Two") };
  const limited = receive(s, failure({ code: "rate_limited", message: "Slow down." }));
  assert.equal(limited.toast, undefined);
  assert.deepEqual(limited.state.outbox.turns.map((t) => t.id), ["t1"], "t2 failed, t1 waits");
  // Nothing unacked: the error belongs to no turn.
  const stray = receive(limited.state, failure({ code: "rate_limited", message: "Slow down." }));
  assert.equal(stray.toast, "Slow down.");
  assert.equal(stray.state.messages, limited.state.messages);
  // A frame we got wrong is never blamed on a turn.
  const bad = receive(s, failure({ code: "invalid_frame", message: "Bad frame." }));
  assert.equal(bad.toast, "Bad frame.");
  assert.equal(question(bad.state, "t1")?.state, "done");
  const down = receive(s, failure({ code: "model_unavailable", message: "No model." }));
  assert.equal(down.health, "down");
});

Deno.test("a refused Stop (the reply had just ended) only clears stopping", () => {
  let s = feed(sent("t1", "Hi"), delta("t1", 0, "Hel", "1-0"));
  s = requestStop(s)!;
  const out = receive(s, failure({ id: "t1", code: "invalid_frame", message: "Too late." }));
  assert.equal(out.state.stopping, false);
  assert.equal(out.state.activeTurn, "t1", "its done is still to come");
  assert.equal(reply(out.state, "t1")?.state, "streaming");
  assert.equal(out.toast, undefined);
  // About a turn that is long finished: nothing to say.
  const old = receive(s, failure({ id: "t0", code: "invalid_frame", message: "Too late." }));
  assert.equal(old.state, s);
  assert.equal(old.toast, undefined);
});

Deno.test("expiry fails unsent questions, keeps partial replies as stopped, empties the outbox", () => {
  let s = sent("t1", "One");
  s = feed(s, { type: "ack", id: "t1" }, delta("t1", 0, "Partial", "1-0"));
  s = { ...s, messages: [...s.messages, ...sent("t2", "Two").messages] };
  s = { ...s, outbox: queue(s.outbox, "t2", "Two"), stopping: true };
  const gone = expire(s);
  assert.deepEqual(gone.messages.map((m) => [m.key, m.state, m.error]), [
    ["t1", "done", undefined],
    ["reply:t1", "stopped", undefined],
    ["t2", "failed", "Not sent: the session expired."],
  ]);
  assert.equal(gone.activeTurn, null);
  assert.equal(gone.stopping, false);
  assert.deepEqual(gone.outbox, emptyOutbox);
  // The server can say so in an error frame too, whose event id still counts as seen.
  const said = receive(s, failure({ code: "session_expired", message: "Gone.", event: "4-0" }));
  assert.equal(said.expired, true);
  assert.equal(said.state.lastEvent, "4-0");
});

Deno.test("a reopened socket resumes, re-sends unacked turns in send order, then the Stop", () => {
  let box = queue(
    queue(queue(emptyOutbox, "a", "first"), "b", "second"),
    "c",
    "third",
  );
  box = outbox.withStop(outbox.ack(box, "b"), "c");
  assert.equal(outbox.oldestUnacked(box), "a");
  const reconnect = { lastEvent: "7-1", resumeFrom: "2-0", isReconnect: true };
  assert.deepEqual(reopenFrames(box, reconnect), [
    { type: "resume", after: "7-1" },
    { type: "message", id: "a", content: "first" },
    { type: "message", id: "c", content: "third" },
    { type: "stop", id: "c" },
  ]);
  // Settled turns and a delivered Stop are not sent again.
  box = outbox.stopSent(outbox.settle(box, "a"));
  assert.equal(outbox.oldestUnacked(box), "c");
  assert.deepEqual(reopenFrames(box, reconnect), [
    { type: "resume", after: "7-1" },
    { type: "message", id: "c", content: "third" },
  ]);
  // Where the replay starts: this page's last event, else the saved one, else the start.
  const at = (lastEvent: string | null, resumeFrom: string | null, isReconnect: boolean) =>
    reopenFrames(emptyOutbox, { lastEvent, resumeFrom, isReconnect });
  assert.deepEqual(at(null, null, false), [], "a new session has nothing to replay");
  assert.deepEqual(at(null, "3-0", false), [{ type: "resume", after: "3-0" }], "after a reload");
  assert.deepEqual(at(null, null, true), [{ type: "resume", after: "0-0" }]);
});

Deno.test("Stop needs an active turn and is asked once; Retry waits for a running reply", () => {
  assert.equal(requestStop(newConversation()), null);
  const stopping = requestStop(sent("t1", "Hi"));
  assert.equal(stopping?.outbox.stop, "t1");
  assert.equal(requestStop(stopping!), null);
  const failed = feed(sent("t1", "Hi"), failure({ id: "t1", code: "model_error", message: "x" }));
  assert.equal(withdrawTurn(startTurn(failed, "t2", "Other"), "t1"), null);
  assert.equal(withdrawTurn(failed, "nope"), null);
  assert.ok(withdrawTurn(failed, "t1"));
});

// The whole pipeline over real sockets: web server -> Redis Streams -> worker -> model -> back.
import assert from "node:assert/strict";
import { sessionKeys } from "../lib/redis/keys.ts";
import {
  assertDone,
  doneOf,
  fetchHistory,
  framesFor,
  replyText,
  sendTurn,
} from "./support/chat.ts";
import { echoReply } from "./fixtures/model_servers.ts";
import { ChatClient, newSession, type Stack, startStack } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

const LONG = Array.from({ length: 120 }, (_, i) => `word${i}`).join(" ");

// One stack for the whole file: every test makes its own session.
let stack: Stack;
let base: string;
Deno.test.beforeAll(async () => {
  stack = await startStack({
    workers: 1,
    tokenDelayMs: 25,
    reply: (body) => {
      const last = body.messages.at(-1)?.content ?? "";
      return last.startsWith("long") ? LONG : echoReply(last);
    },
    env: { MAX_MESSAGE_CHARS: "500" },
  });
  base = stack.baseUrl;
});
Deno.test.afterAll(async () => {
  await stack?.stop();
});
const opts = { sanitizeOps: false, sanitizeResources: false }; // the stack outlives each test

/** The session's history: fetchHistory asserts a 200 whose body matches the contract. */
const history = (token: string) => fetchHistory(base, token);

Deno.test("health reports redis and the worker's model", opts, async () => {
  const res = await fetch(`${base}/api/health`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ok", redis: "ok", model: "openai/local" });
  const seed = await fetch(`${base}/test`);
  assert.equal((await seed.json()).status, "ok");
});

Deno.test("token: JSON, form and query names; bad names are 400 invalid_name", opts, async () => {
  const json = await fetch(`${base}/api/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "  Ada  " }),
  });
  assert.equal(json.status, 201);
  const s = await json.json();
  assert.equal(s.name, "Ada");
  assert.match(s.token, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(Date.parse(s.expires_at) - Date.parse(s.session_start) > 3500_000);

  const form = await fetch(`${base}/token`, {
    method: "POST",
    body: new URLSearchParams({ name: "Bo" }),
  });
  assert.equal(form.status, 201);
  assert.equal((await form.json()).name, "Bo");
  const query = await fetch(`${base}/api/token?name=Cy`, { method: "POST" });
  assert.equal((await query.json()).name, "Cy");

  for (const name of ["", "   ", "x".repeat(65)]) {
    const res = await fetch(`${base}/api/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.error.code, "invalid_name");
    assert.equal(typeof body.error.message, "string");
  }
  const none = await fetch(`${base}/api/token`, { method: "POST" });
  assert.equal((await none.json()).error.code, "invalid_name");
});

Deno.test("history: unknown tokens are 401 session_expired; tokens never cross", opts, async () => {
  for (
    const url of [
      `${base}/api/history`,
      `${base}/api/history?token=nope`,
      `${base}/chat_history?token=${"a".repeat(43)}`,
    ]
  ) {
    const res = await fetch(url);
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.code, "session_expired");
  }
  const unknown = await fetch(`${base}/api/nothing`);
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, "not_found");
});

Deno.test("a full turn: ack, ordered deltas, done, history holds both once", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  const done = await sendTurn(client, "t1", "hello there");
  assertDone(done, stack.logs);
  const frames = framesFor(client, "t1");
  assert.equal(frames[0].type, "ack");
  const deltas = frames.filter((f) => f.type === "delta");
  assert.ok(deltas.length >= 3, `expected several deltas, got ${deltas.length}`);
  const expected = echoReply("hello there");
  assert.equal(deltas.map((d) => d.text).join(""), expected);
  let offset = 0;
  for (const d of deltas) {
    assert.equal(d.offset, offset);
    offset += d.text.length;
  }
  const message = done.message;
  assert.equal(message.content, expected);
  assert.equal(message.role, "assistant");
  const h = await history(token); // asserts the 200
  assert.equal(h.name, "Ada");
  assert.deepEqual(h.messages.map((m) => [m.role, m.content]), [
    ["user", "hello there"],
    ["assistant", expected],
  ]);
  assert.ok(h.messages.every((m) => !Number.isNaN(Date.parse(m.timestamp))));
  // The events are resumable ids, in increasing order.
  const events = [...deltas, done].map((f) => f.event);
  assert.deepEqual([...events].sort(), events.slice().sort());
  client.close();
});

Deno.test("the seed's WS /chat takes plain text frames", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token, "/chat");
  client.send("plain words");
  const done = await client.waitFor((f) => f.type === "done");
  assert.equal(done.message.content, echoReply("plain words"));
  client.close();
});

Deno.test("two clients at once each get only their own replies", opts, async () => {
  const [a, b] = await Promise.all([newSession(base, "A"), newSession(base, "B")]);
  const [ca, cb] = await Promise.all([ChatClient.connect(base, a), ChatClient.connect(base, b)]);
  const [da, db] = await Promise.all([
    sendTurn(ca, "same-id", "from alpha"),
    sendTurn(cb, "same-id", "from bravo"),
  ]);
  assertDone(da, stack.logs);
  assertDone(db, stack.logs);
  assert.equal(da.message.content, echoReply("from alpha"));
  assert.equal(db.message.content, echoReply("from bravo"));
  assert.equal(replyText(ca.frames, "same-id"), echoReply("from alpha"));
  assert.equal(replyText(cb.frames, "same-id"), echoReply("from bravo"));
  assert.ok(!ca.frames.some((f) => f.type === "delta" && f.text.includes("bravo")));
  assert.equal((await history(a)).messages.length, 2);
  assert.equal((await history(b)).messages.length, 2);
  ca.close();
  cb.close();
});

Deno.test("missing, unknown and expired tokens close with 1008", opts, async () => {
  for (const token of [null, "unknown", "b".repeat(43)]) {
    const client = await ChatClient.connect(base, token);
    const closed = await client.closed;
    assert.equal(closed.code, 1008);
    assert.ok(closed.reason.length > 0);
  }
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  await stack.redis.del(...Object.values(sessionKeys(token))); // what expiry does
  client.send({ type: "message", id: "late", content: "anyone?" });
  const closed = await client.closed;
  assert.equal(closed.code, 1008);
  assert.equal(framesFor(client, "late", "error")[0]?.code, "session_expired");
});

Deno.test("bad frames get error frames and the socket stays usable", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  client.send({ type: "message", content: "no id" });
  client.send({ type: "dance" });
  client.send({ type: "message", id: "too-long", content: "x".repeat(501) });
  client.send({ type: "message", id: "blank", content: "   " });
  client.send({ type: "resume", after: "not-an-id" });
  client.send({ type: "stop", id: "nothing-running" });
  await client.waitFor((f) => f.id === "nothing-running");
  const errors = client.frames.filter((f) => f.type === "error");
  assert.deepEqual(errors.map((e) => e.code), [
    "invalid_frame",
    "invalid_frame",
    "message_too_long",
    "invalid_frame",
    "invalid_frame",
    "invalid_frame",
  ]);
  assert.ok(errors.every((e) => typeof e.message === "string" && e.message.length > 5));
  const done = await sendTurn(client, "ok", "still here?");
  assertDone(done, stack.logs);
  // Nothing that was refused reached history.
  assert.deepEqual((await history(token)).messages.map((m) => m.content), [
    "still here?",
    echoReply("still here?"),
  ]);
  client.close();
});

Deno.test("an oversized frame closes with 1009", opts, async () => {
  const client = await ChatClient.connect(base, await newSession(base));
  client.send("y".repeat(70 * 1024));
  assert.equal((await client.closed).code, 1009);
});

Deno.test("a resent turn id is answered once", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  client.send({ type: "message", id: "dup", content: "once please" });
  client.send({ type: "message", id: "dup", content: "once please" });
  await client.waitFor(doneOf("dup"));
  await sendTurn(client, "after", "next"); // let any second reply show up first
  assert.equal(framesFor(client, "dup", "ack").length, 2);
  assert.equal(framesFor(client, "dup", "done").length, 1);
  const messages = (await history(token)).messages;
  assert.deepEqual(messages.map((m) => m.content), [
    "once please",
    echoReply("once please"),
    "next",
    echoReply("next"),
  ]);
  client.close();
});

Deno.test("session keys share a sliding TTL", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  await sendTurn(client, "ttl", "hi");
  client.close();
  const keys = sessionKeys(token);
  const all = [keys.session, keys.history, keys.turns, keys.replies];
  for (const key of all) await stack.redis.expire(key, 100);
  await history(token); // activity (history asserts its 200)
  for (const key of all) {
    const ttl = await stack.redis.ttl(key);
    assert.ok(ttl > 3500 && ttl <= 3600, `${key} ttl ${ttl}`);
  }
});

Deno.test("resume after a reconnect replays exactly the missed events", opts, async () => {
  const token = await newSession(base);
  const first = await ChatClient.connect(base, token);
  first.send({ type: "message", id: "r1", content: "long story" });
  await first.waitFor(() => framesFor(first, "r1", "delta").length >= 5);
  first.close();
  const seen = framesFor(first, "r1", "delta");
  const last = seen.at(-1)!.event;
  await new Promise((r) => setTimeout(r, 300)); // more is written while we are away
  const second = await ChatClient.connect(base, token);
  second.send({ type: "resume", after: last });
  const done = await second.waitFor(doneOf("r1"), 30_000);
  const all = [...seen, ...framesFor(second, "r1", "delta")];
  const events = all.map((f) => f.event);
  assert.equal(new Set(events).size, events.length, "no event twice");
  assert.equal(replyText(all, "r1"), LONG);
  assert.equal(done.message.content, LONG);
  second.close();
});

Deno.test("stop ends a long reply early and keeps the partial text", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  const abortedBefore = stack.model!.aborted;
  client.send({ type: "message", id: "s1", content: "long please" });
  await client.waitFor(() => framesFor(client, "s1", "delta").length >= 3);
  client.send({ type: "stop", id: "s1" });
  const done = await client.waitFor(doneOf("s1"));
  assert.equal(done.stopped, true);
  const content = done.message.content;
  assert.ok(content.length > 0 && content.length < LONG.length / 2, `kept ${content.length}`);
  assert.ok(LONG.startsWith(content));
  const messages = (await history(token)).messages;
  assert.equal(messages.at(-1)!.content, content);
  // The provider saw its stream cut: generation halted there, not just hidden from the user.
  await waitFor(() => stack.model!.aborted > abortedBefore, "the model stream to be cut", 2000);
  assert.ok(stack.model!.aborted > abortedBefore);
  client.close();
});

Deno.test("a worker killed mid-reply: another finishes the turn, once", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  client.send({ type: "message", id: "k1", content: "long and fragile" });
  await client.waitFor(() => framesFor(client, "k1", "delta").length >= 3);
  const victim = stack.workers.shift()!;
  await victim.kill(); // SIGKILL: no clean-up, the turn stays pending
  await stack.startWorker();
  const done = await client.waitFor(doneOf("k1"), 40_000);
  assert.equal(done.message.content, LONG);
  assert.equal(replyText(client.frames, "k1"), LONG, "a client applying offsets shows it once");
  const messages = (await history(token)).messages;
  assert.deepEqual(messages.map((m) => m.role), ["user", "assistant"]);
  assert.equal(messages[1].content, LONG);
  assert.equal(framesFor(client, "k1", "done").length, 1);
  client.close();
});

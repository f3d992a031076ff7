// Regenerate and edit over the socket, `busy` while a reply runs, `user` events that keep every
// tab in step (and are replayed by resume), outcomes (stopped, failed) that survive in history, a
// retry that replaces the failed message, and the user's name in the model's system prompt.
import assert from "node:assert/strict";
import type { Message, ServerFrame } from "../lib/contract/frames.ts";
import { createConversation, getConversation } from "./support/api.ts";
import { doneOf, fetchHistory, framesFor, replyText } from "./support/chat.ts";
import { echoReply, type OpenAIRequestBody } from "./fixtures/model_servers.ts";
import { ChatClient, newSession, type Stack, startStack } from "./support/stack.ts";

const LONG = Array.from({ length: 150 }, (_, i) => `word${i}`).join(" ");

let stack: Stack;
let base: string;
let calls = 0;
Deno.test.beforeAll(async () => {
  stack = await startStack({
    tokenDelayMs: 20,
    reply: (body) => {
      calls++;
      const last = body.messages.at(-1)?.content ?? "";
      if (last.startsWith("long")) return LONG;
      if (last.startsWith("fail")) return ""; // an empty answer fails the turn
      // Regenerating the same question answers differently.
      return `${echoReply(last)} (#${calls})`;
    },
  });
  base = stack.baseUrl;
});
Deno.test.afterAll(async () => {
  await stack?.stop();
});
const opts = { sanitizeOps: false, sanitizeResources: false };

const endOf = (id: string) => (f: ServerFrame) =>
  f.id === id && (f.type === "done" || f.type === "error");
const contents = (messages: Message[]) => messages.map((m) => `${m.role}: ${m.content}`);
const requestsFor = (text: string) =>
  stack.model!.requests.map((r) => r.body as OpenAIRequestBody).filter((b) =>
    b?.messages?.at(-1)?.content === text
  );

Deno.test("regenerate replaces the last reply with a new one", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  client.send({ type: "message", id: "q1", content: "first question" });
  await client.waitFor(doneOf("q1"));
  client.send({ type: "message", id: "q2", content: "second question" });
  const old = await client.waitFor(doneOf("q2"));
  client.send({ type: "regenerate", id: "g1" });
  const fresh = await client.waitFor(doneOf("g1"));
  assert.notEqual(fresh.message.content, old.message.content);
  const user = framesFor(client, "g1", "user")[0];
  assert.equal(user.regenerate, true);
  assert.equal(user.message.id, "q2", "the question answered again");
  assert.equal(framesFor(client, "g1", "ack")[0].conversation, "default");
  const messages = (await fetchHistory(base, token)).messages;
  assert.deepEqual(messages.map((m) => m.id), ["q1", "q1:a", "q2", "g1:a"]);
  assert.equal(messages[3].content, fresh.message.content);
  // The model saw the conversation up to the question, without the replaced reply.
  const seen = requestsFor("second question").at(-1)!.messages.filter((m) => m.role !== "system");
  assert.deepEqual(seen.map((m) => m.content), [
    "first question",
    messages[1].content,
    "second question",
  ]);
  client.close();
});

Deno.test("edit replaces a user message, drops what followed, and answers it", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  const c = await createConversation(base, token);
  for (const [id, text] of [["e1", "one"], ["e2", "two"], ["e3", "three"]]) {
    client.send({ type: "message", id, content: text, conversation: c.id });
    await client.waitFor(doneOf(id));
  }
  client.send({ type: "edit", id: "e4", message: "e2", content: "TWO", conversation: c.id });
  const done = await client.waitFor(doneOf("e4"));
  const user = framesFor(client, "e4", "user")[0];
  assert.deepEqual([user.edited, user.message.id, user.message.content], ["e2", "e4", "TWO"]);
  const detail = await getConversation(base, token, c.id);
  assert.deepEqual(contents(detail.messages), [
    "user: one",
    `assistant: ${framesFor(client, "e1", "done")[0].message.content}`,
    "user: TWO",
    `assistant: ${done.message.content}`,
  ]);
  assert.equal(detail.message_count, 4);
  // Only user messages of this conversation can be edited.
  for (const message of ["nope", "e2"]) {
    const id = `bad-${message}`;
    client.send({ type: "edit", id, message, content: "x", conversation: c.id });
    const err = await client.waitFor((f) => f.id === id && f.type === "error");
    assert.equal(err.type === "error" && err.code, "invalid_frame", message);
  }
  // A reply's id is no user message id at all: the frame itself is refused.
  const before = client.frames.length;
  client.send({ type: "edit", id: "reply", message: "e1:a", content: "x", conversation: c.id });
  const refused = await client.waitFor((f) =>
    client.frames.indexOf(f) >= before && f.type === "error" && f.id === undefined
  );
  assert.equal(refused.type === "error" && refused.code, "invalid_frame");
  client.send({ type: "edit", id: "empty", message: "e1", content: "  ", conversation: c.id });
  const empty = await client.waitFor((f) => f.id === "empty" && f.type === "error");
  assert.equal(empty.type === "error" && empty.code, "invalid_frame");
  client.close();
});

Deno.test(
  "busy while a reply runs in that conversation; other conversations are free",
  opts,
  async () => {
    const token = await newSession(base);
    const client = await ChatClient.connect(base, token);
    client.send({ type: "message", id: "b1", content: "long reply here" });
    await client.waitFor(() => framesFor(client, "b1", "delta").length >= 2);
    client.send({ type: "regenerate", id: "b2" });
    client.send({ type: "edit", id: "b3", message: "b1", content: "changed" });
    for (const id of ["b2", "b3"]) {
      const err = await client.waitFor((f) => f.id === id && f.type === "error");
      assert.equal(err.type === "error" && err.code, "busy", id);
      assert.equal(err.type === "error" && err.conversation, "default");
    }
    const other = await createConversation(base, token);
    client.send({ type: "message", id: "o1", content: "meanwhile", conversation: other.id });
    await client.waitFor(doneOf("o1"));
    client.send({ type: "regenerate", id: "o2", conversation: other.id });
    await client.waitFor(doneOf("o2"));
    client.send({ type: "stop", id: "b1" });
    await client.waitFor(doneOf("b1"));
    client.send({ type: "regenerate", id: "b4" });
    await client.waitFor(doneOf("b4"), 20_000);
    client.close();
  },
);

Deno.test(
  "every socket of the session sees the question, then its answer, in order",
  opts,
  async () => {
    const token = await newSession(base);
    const [a, b] = await Promise.all([
      ChatClient.connect(base, token),
      ChatClient.connect(base, token),
    ]);
    a.send({ type: "message", id: "s1", content: "asked in tab A" });
    await a.waitFor(doneOf("s1"));
    const done = await b.waitFor(doneOf("s1"));
    const order = b.frames.filter((f) => f.id === "s1").map((f) => f.type);
    assert.equal(order[0], "user", `tab B: ${order}`);
    assert.equal(order.at(-1), "done");
    assert.ok(!order.includes("ack"), "acks go to the sender only");
    const user = framesFor(b, "s1", "user")[0];
    assert.deepEqual([user.message.id, user.message.role, user.message.content], [
      "s1",
      "user",
      "asked in tab A",
    ]);
    assert.equal(replyText(b.frames, "s1"), done.message.content);
    // The sender gets its ack first, then the same events.
    assert.deepEqual(a.frames.filter((f) => f.id === "s1").map((f) => f.type).slice(0, 2), [
      "ack",
      "user",
    ]);
    // A tab that comes later replays them with resume.
    const c = await ChatClient.connect(base, token);
    c.send({ type: "resume", after: "0-0" });
    await c.waitFor(doneOf("s1"));
    assert.equal(framesFor(c, "s1", "user").length, 1);
    for (const client of [a, b, c]) client.close();
  },
);

Deno.test(
  "stopped and failed outcomes come back from history; retry replaces the failure",
  opts,
  async () => {
    const token = await newSession(base);
    const client = await ChatClient.connect(base, token);
    client.send({ type: "message", id: "x1", content: "long, then stop" });
    await client.waitFor(() => framesFor(client, "x1", "delta").length >= 2);
    client.send({ type: "stop", id: "x1" });
    const stopped = await client.waitFor(doneOf("x1"));
    assert.equal(stopped.message.stopped, true);
    client.send({ type: "message", id: "x2", content: "fail this one" });
    const failed = await client.waitFor(endOf("x2"));
    assert.equal(failed.type, "error");
    let messages = (await fetchHistory(base, token)).messages;
    assert.deepEqual(messages.map((m) => [m.id, m.stopped ?? false, m.error?.code ?? null]), [
      ["x1", false, null],
      ["x1:a", true, null],
      ["x2", false, "model_error"],
    ]);
    assert.equal(messages[2].error?.message, failed.type === "error" ? failed.message : "");
    // Retrying sends it as a new turn; the failed one goes.
    client.send({ type: "message", id: "x3", content: "retried fine", retries: "x2" });
    await client.waitFor(doneOf("x3"));
    assert.equal(framesFor(client, "x3", "user")[0].retried, "x2");
    messages = (await fetchHistory(base, token)).messages;
    assert.deepEqual(messages.map((m) => m.id), ["x1", "x1:a", "x3", "x3:a"]);
    assert.ok(messages.every((m) => !m.error));
    // A message that did not fail is never removed by `retries`.
    client.send({ type: "message", id: "x4", content: "not a retry", retries: "x3" });
    await client.waitFor(doneOf("x4"));
    assert.equal((await fetchHistory(base, token)).messages.length, 6);
    client.close();
  },
);

Deno.test(
  "regenerating a failed turn answers it again in place; with nothing to answer, invalid_frame",
  opts,
  async () => {
    const token = await newSession(base);
    const client = await ChatClient.connect(base, token);
    client.send({ type: "message", id: "f1", content: "fail first" });
    await client.waitFor(endOf("f1"));
    assert.equal((await fetchHistory(base, token)).messages[0].error?.code, "model_error");
    client.send({ type: "regenerate", id: "nothing" });
    const none = await client.waitFor(endOf("nothing"));
    // "fail first" fails again: still one user message, still failed, no reply.
    assert.equal(none.type, "error");
    const messages = (await fetchHistory(base, token)).messages;
    assert.deepEqual(messages.map((m) => [m.id, m.error?.code]), [["f1", "model_error"]]);
    const fresh = await newSession(base);
    const other = await ChatClient.connect(base, fresh);
    other.send({ type: "regenerate", id: "r0" });
    const err = await other.waitFor((f) => f.id === "r0" && f.type === "error");
    assert.equal(err.type === "error" && err.code, "invalid_frame", "nothing to answer again");
    client.close();
    other.close();
  },
);

Deno.test("the model is told the user's name in its system prompt", opts, async () => {
  const token = await newSession(base, "Grace Hopper");
  const client = await ChatClient.connect(base, token);
  client.send({ type: "message", id: "n1", content: "what is my name?" });
  await client.waitFor(doneOf("n1"));
  const system = requestsFor("what is my name?")[0].messages.find((m) => m.role === "system");
  assert.match(system?.content ?? "", /Grace Hopper/);
  client.close();
});

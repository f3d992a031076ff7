// What conversations do beyond their routes, against the real stack: kept apart (for the model
// too), every socket of a session told about changes, a delete stopping the reply in progress, and
// the session's one TTL covering them all.
import assert from "node:assert/strict";
import { sessionKeyList } from "../lib/redis/keys.ts";
import { call, createConversation, getConversation, listConversations } from "./support/api.ts";
import { doneOf, framesFor, turnIn } from "./support/chat.ts";
import { echoReply, type OpenAIRequestBody } from "./fixtures/model_servers.ts";
import { ChatClient, newSession, type Stack, startStack } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

const LONG = Array.from({ length: 150 }, (_, i) => `word${i}`).join(" ");

let stack: Stack;
let base: string;
Deno.test.beforeAll(async () => {
  stack = await startStack({
    tokenDelayMs: 20,
    reply: (body) => {
      const last = body.messages.at(-1)?.content ?? "";
      return last.startsWith("long") ? LONG : echoReply(last);
    },
  });
  base = stack.baseUrl;
});
Deno.test.afterAll(async () => {
  await stack?.stop();
});
const opts = { sanitizeOps: false, sanitizeResources: false };

/** The model requests whose last user message was `text`. */
const askedWith = (text: string) =>
  stack.model!.requests.map((r) => r.body as OpenAIRequestBody).filter((b) =>
    b?.messages?.at(-1)?.content === text
  );

Deno.test("two conversations are kept apart, for the model too", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  const a = await createConversation(base, token);
  const b = await createConversation(base, token);
  await turnIn(client, "a1", "apples in A", a.id);
  await turnIn(client, "b1", "bananas in B", b.id);
  await turnIn(client, "a2", "more about apples", a.id);
  const inA = (await getConversation(base, token, a.id)).messages.map((m) => m.content);
  const inB = (await getConversation(base, token, b.id)).messages.map((m) => m.content);
  assert.deepEqual(inA, [
    "apples in A",
    echoReply("apples in A"),
    "more about apples",
    echoReply("more about apples"),
  ]);
  assert.deepEqual(inB, ["bananas in B", echoReply("bananas in B")]);
  const [request] = askedWith("more about apples");
  assert.deepEqual(
    request.messages.filter((m) => m.role !== "system").map((m) => m.content),
    inA.slice(0, 3),
  );
  const done = framesFor(client, "b1", "done")[0];
  assert.equal(done.conversation, b.id);
  client.close();
});

Deno.test(
  "conversation and conversation_deleted frames reach every socket of the session",
  opts,
  async () => {
    const token = await newSession(base);
    const [one, two] = await Promise.all([
      ChatClient.connect(base, token),
      ChatClient.connect(base, stack.baseUrl === base ? token : token),
    ]);
    const c = await createConversation(base, token);
    for (const client of [one, two]) {
      const f = await client.waitFor((f) =>
        f.type === "conversation" && f.conversation.id === c.id
      );
      assert.equal(f.type === "conversation" && f.conversation.title, "");
    }
    await call(base, token, "PATCH", `/api/conversations/${c.id}`, { title: "Renamed" });
    for (const client of [one, two]) {
      await client.waitFor((f) => f.type === "conversation" && f.conversation.title === "Renamed");
    }
    // A first message gives a title: both hear it.
    const d = await createConversation(base, token);
    await turnIn(one, "d1", "Title from here", d.id);
    for (const client of [one, two]) {
      await client.waitFor((f) =>
        f.type === "conversation" && f.conversation.id === d.id &&
        f.conversation.title === "Title from here"
      );
    }
    await call(base, token, "DELETE", `/api/conversations/${c.id}`);
    for (const client of [one, two]) {
      await client.waitFor((f) => f.type === "conversation_deleted" && f.id === c.id);
    }
    one.close();
    two.close();
  },
);

Deno.test(
  "deleting a conversation stops its reply in progress; its messages are gone",
  opts,
  async () => {
    const token = await newSession(base);
    const client = await ChatClient.connect(base, token);
    const c = await createConversation(base, token);
    const aborted = stack.model!.aborted;
    client.send({
      type: "message",
      id: "L1",
      content: "long story, then delete",
      conversation: c.id,
    });
    await client.waitFor(() => framesFor(client, "L1", "delta").length >= 3);
    assert.equal((await call(base, token, "DELETE", `/api/conversations/${c.id}`)).status, 204);
    await client.waitFor((f) => f.type === "conversation_deleted" && f.id === c.id);
    const done = await client.waitFor(doneOf("L1"));
    assert.equal(done.stopped, true);
    await waitFor(() => stack.model!.aborted > aborted, "the model stream to be cut");
    assert.equal((await call(base, token, "GET", `/api/conversations/${c.id}`)).status, 404);
    assert.deepEqual(await listConversations(base, token), []);
    // Nothing of it is left in Redis either.
    const members = await stack.redis.zrange(sessionKeyList(token)[1], 0, -1);
    assert.deepEqual(members, []);
    client.close();
  },
);

Deno.test(
  "every key of the session, conversations included, shares the sliding TTL",
  opts,
  async () => {
    const token = await newSession(base);
    const client = await ChatClient.connect(base, token);
    const c = await createConversation(base, token);
    await turnIn(client, "k1", "hi", c.id);
    client.close();
    for (const key of sessionKeyList(token)) await stack.redis.expire(key, 100);
    await listConversations(base, token);
    for (const key of sessionKeyList(token)) {
      const ttl = await stack.redis.ttl(key);
      assert.ok(ttl > 3500 && ttl <= 3600, `${key} ttl ${ttl}`);
    }
  },
);

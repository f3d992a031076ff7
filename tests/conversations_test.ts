// Conversations over HTTP and the socket, against the real stack: the default conversation behind
// the seed's endpoints, CRUD and export, titles, ids that are not this session's, the limit, and
// 401 for a session that is gone. conversation_events_test.ts has what happens around them.
import assert from "node:assert/strict";
import { DEFAULT_CONVERSATION } from "../lib/contract/conversations.ts";
import { ConversationDetail } from "../lib/contract/payloads.ts";
import {
  call,
  createConversation,
  errorCode,
  getConversation,
  listConversations,
} from "./support/api.ts";
import { fetchHistory, framesFor, turnIn } from "./support/chat.ts";
import { echoReply } from "./fixtures/model_servers.ts";
import { ChatClient, newSession, type Stack, startStack } from "./support/stack.ts";

const LONG = Array.from({ length: 150 }, (_, i) => `word${i}`).join(" ");
const MAX = 4;

let stack: Stack;
let base: string;
Deno.test.beforeAll(async () => {
  stack = await startStack({
    tokenDelayMs: 20,
    reply: (body) => {
      const last = body.messages.at(-1)?.content ?? "";
      return last.startsWith("long") ? LONG : echoReply(last);
    },
    env: { MAX_CONVERSATIONS: String(MAX) },
  });
  base = stack.baseUrl;
});
Deno.test.afterAll(async () => {
  await stack?.stop();
});
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "the default conversation: created by the first turn, behind /api/history",
  opts,
  async () => {
    const token = await newSession(base);
    assert.deepEqual(await listConversations(base, token), []);
    const client = await ChatClient.connect(base, token);
    const done = await turnIn(client, "t1", "  Plan a trip to Lisbon  \nwith kids, in May");
    assert.equal(done.conversation, DEFAULT_CONVERSATION);
    assert.equal(framesFor(client, "t1", "ack")[0].conversation, DEFAULT_CONVERSATION);
    const [listed] = await listConversations(base, token);
    assert.deepEqual(
      [listed.id, listed.title, listed.message_count],
      [DEFAULT_CONVERSATION, "Plan a trip to Lisbon", 2],
    );
    const detail = await getConversation(base, token, DEFAULT_CONVERSATION);
    assert.deepEqual(detail.messages, (await fetchHistory(base, token)).messages);
    assert.deepEqual(detail.messages.map((m) => m.role), ["user", "assistant"]);
    // The seed's path reads the same conversation.
    const seed = await fetch(`${base}/chat_history?token=${token}`).then((r) => r.json());
    assert.deepEqual(seed.messages, detail.messages);
    client.close();
  },
);

Deno.test("create, read, rename, delete; most recently updated first", opts, async () => {
  const token = await newSession(base);
  const a = await createConversation(base, token);
  assert.equal(a.title, "");
  assert.equal(a.message_count, 0);
  assert.match(a.id, /^[A-Za-z0-9_-]+$/);
  const b = await createConversation(base, token, "  Recipes ");
  assert.equal(b.title, "Recipes");
  assert.deepEqual((await listConversations(base, token)).map((c) => c.id), [b.id, a.id]);
  assert.deepEqual((await getConversation(base, token, a.id)).messages, []);

  const renamed = await call(base, token, "PATCH", `/api/conversations/${a.id}`, {
    title: " Trip ",
  });
  assert.equal(renamed.status, 200);
  assert.equal((renamed.body as { title: string }).title, "Trip");
  assert.deepEqual((await listConversations(base, token)).map((c) => c.id), [a.id, b.id]);
  for (const title of ["", "   ", "x".repeat(121)]) {
    const bad = await call(base, token, "PATCH", `/api/conversations/${a.id}`, { title });
    assert.equal(bad.status, 400, title);
    assert.equal(errorCode(bad), "invalid_title");
  }
  const noBody = await call(base, token, "PATCH", `/api/conversations/${a.id}`);
  assert.equal(errorCode(noBody), "invalid_title");
  const tooLong = await call(base, token, "POST", "/api/conversations", { title: "y".repeat(121) });
  assert.equal(errorCode(tooLong), "invalid_title");

  const deleted = await call(base, token, "DELETE", `/api/conversations/${a.id}`);
  assert.equal(deleted.status, 204);
  assert.equal(deleted.text, "");
  for (const [method, path] of [["GET", ""], ["DELETE", ""], ["PATCH", ""], ["GET", "/export"]]) {
    const body = method === "PATCH" ? { title: "x" } : undefined;
    const gone = await call(base, token, method, `/api/conversations/${a.id}${path}`, body);
    assert.equal(gone.status, 404, `${method} ${path}`);
    assert.equal(errorCode(gone), "conversation_not_found");
  }
  assert.deepEqual((await listConversations(base, token)).map((c) => c.id), [b.id]);
});

Deno.test(
  "another session's conversation ids, and unknown ones, are 404 conversation_not_found",
  opts,
  async () => {
    const [mine, theirs] = await Promise.all([newSession(base, "A"), newSession(base, "B")]);
    const other = await createConversation(base, theirs, "Private");
    for (const id of [other.id, "no-such-id", "a.b", "x".repeat(200)]) {
      for (
        const [method, path] of [["GET", ""], ["PATCH", ""], ["DELETE", ""], ["GET", "/export"]]
      ) {
        const body = method === "PATCH" ? { title: "x" } : undefined;
        const a = await call(base, mine, method, `/api/conversations/${id}${path}`, body);
        assert.equal(a.status, 404, `${method} ${id}${path}: ${a.text}`);
        assert.equal(errorCode(a), "conversation_not_found");
      }
    }
    const client = await ChatClient.connect(base, mine);
    for (const conversation of [other.id, "no-such-id", "../etc"]) {
      const id = `x${crypto.randomUUID().slice(0, 8)}`;
      client.send({ type: "message", id, content: "hi", conversation });
      const err = await client.waitFor((f) => f.type === "error" && f.id === id);
      assert.equal(err.type === "error" && err.code, "conversation_not_found");
    }
    client.send({ type: "regenerate", id: "rg", conversation: other.id });
    const err = await client.waitFor((f) => f.type === "error" && f.id === "rg");
    assert.equal(err.type === "error" && err.code, "conversation_not_found");
    // Nothing reached the other session.
    assert.deepEqual((await getConversation(base, theirs, other.id)).messages, []);
    client.close();
  },
);

Deno.test(
  "the limit: 409 too_many_conversations at MAX_CONVERSATIONS, default included",
  opts,
  async () => {
    const token = await newSession(base);
    const made = [];
    for (let i = 0; i < MAX; i++) made.push(await createConversation(base, token));
    const refused = await call(base, token, "POST", "/api/conversations", {});
    assert.equal(refused.status, 409);
    assert.equal(errorCode(refused), "too_many_conversations");
    // The default conversation would be one more.
    const client = await ChatClient.connect(base, token);
    client.send({ type: "message", id: "d1", content: "hello" });
    const err = await client.waitFor((f) => f.id === "d1" && f.type === "error");
    assert.equal(err.type === "error" && err.code, "too_many_conversations");
    await call(base, token, "DELETE", `/api/conversations/${made[0].id}`);
    await turnIn(client, "d2", "hello again");
    assert.equal((await listConversations(base, token)).length, MAX);
    assert.equal((await call(base, token, "POST", "/api/conversations", {})).status, 409);
    client.close();
  },
);

Deno.test("titles: the first line, cut to 60 characters; a rename wins", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  const a = await createConversation(base, token);
  const line = "A very long first line that goes on and on well past sixty characters of text";
  await turnIn(client, "a1", `${line}\nsecond line`, a.id);
  const titled = (await getConversation(base, token, a.id)).title;
  assert.equal(titled, line.slice(0, 60).trim());
  assert.ok(titled.length <= 60);
  await turnIn(client, "a2", "A later message never retitles", a.id);
  assert.equal((await getConversation(base, token, a.id)).title, titled);

  const b = await createConversation(base, token);
  await call(base, token, "PATCH", `/api/conversations/${b.id}`, { title: "Mine" });
  await turnIn(client, "b1", "First message after a rename", b.id);
  assert.equal((await getConversation(base, token, b.id)).title, "Mine");
  const c = await createConversation(base, token, "Named at birth");
  await turnIn(client, "c1", "Something else", c.id);
  assert.equal((await getConversation(base, token, c.id)).title, "Named at birth");
  client.close();
});

Deno.test("export: Markdown as a download, or JSON; other formats are 400", opts, async () => {
  const token = await newSession(base);
  const client = await ChatClient.connect(base, token);
  const c = await createConversation(base, token, "Trip: plans/ideas");
  await turnIn(client, "e1", "Where should we go?", c.id);
  const md = await call(base, token, "GET", `/api/conversations/${c.id}/export?format=md`);
  assert.equal(md.status, 200);
  assert.match(md.headers.get("content-type") ?? "", /^text\/markdown/);
  assert.match(
    md.headers.get("content-disposition") ?? "",
    /^attachment; filename="trip-plans-ideas\.md"$/,
  );
  assert.match(md.text, /^# Trip: plans\/ideas\n/);
  assert.ok(md.text.includes("Where should we go?"));
  assert.ok(md.text.includes(echoReply("Where should we go?")));
  const json = await call(base, token, "GET", `/api/conversations/${c.id}/export?format=json`);
  assert.equal(json.status, 200);
  const body = ConversationDetail.parse(json.body);
  assert.equal(body.messages.length, 2);
  assert.match(json.headers.get("content-disposition") ?? "", /\.json"$/);
  const bad = await call(base, token, "GET", `/api/conversations/${c.id}/export?format=pdf`);
  assert.equal(bad.status, 400);
  assert.equal(errorCode(bad), "invalid_format");
  client.close();
});

Deno.test("every route wants a live session: 401 session_expired", opts, async () => {
  for (const token of [null, "nope", "a".repeat(43)]) {
    for (
      const [method, path] of [
        ["GET", "/api/conversations"],
        ["POST", "/api/conversations"],
        ["GET", "/api/conversations/default"],
        ["PATCH", "/api/conversations/default"],
        ["DELETE", "/api/conversations/default"],
        ["GET", "/api/conversations/default/export"],
      ]
    ) {
      const a = await call(
        base,
        token,
        method,
        path,
        method === "PATCH" ? { title: "x" } : undefined,
      );
      assert.equal(a.status, 401, `${method} ${path}`);
      assert.equal(errorCode(a), "session_expired");
    }
  }
});

// Replies and turns are pushed over Redis pub/sub, with the streams still the source of truth: a
// lost push costs latency, never an event, and each web server hears only its own sessions.
import assert from "node:assert/strict";
import { sessionKeys } from "../lib/redis/keys.ts";
import { HOLDERS_FIELD, parseHint, streamHintId } from "../lib/redis/reply_hint.ts";
import { assertDone, doneOf, framesFor, replyText, sendTurn } from "./support/chat.ts";
import { ChatClient, newSession, type Stack, startStack } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const LONG = Array.from({ length: 100 }, (_, i) => `piece${i}`).join(" ") + ".";

let stack: Stack;
Deno.test.beforeAll(async () => {
  stack = await startStack({
    servers: 2,
    tokenDelayMs: 20,
    reply: (body) => body.messages.at(-1)?.content.startsWith("long") ? LONG : "Short.",
  });
});
Deno.test.afterAll(async () => {
  await stack?.stop();
});

/** Every delta starts where the text so far ends (or at 0 for a retried turn): nothing skipped. */
function assertContiguous(client: ChatClient, id: string) {
  let length = 0;
  for (const delta of framesFor(client, id, "delta")) {
    assert.ok(delta.offset === length || delta.offset === 0, `gap at ${delta.offset}/${length}`);
    length = delta.offset + delta.text.length;
  }
}

Deno.test(
  "subscriptions dropped mid-reply lose no delta and the reply completes",
  opts,
  async () => {
    const client = await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
    client.send({ type: "message", id: "p1", content: "long please" });
    await client.waitFor(() => framesFor(client, "p1", "delta").length >= 3);
    stack.bridge.dropSubscriptions();
    await client.waitFor(() => framesFor(client, "p1", "delta").length >= 10);
    stack.bridge.dropSubscriptions();
    const done = await client.waitFor(doneOf("p1"), 30_000);
    assert.equal(done.message.content, LONG);
    assert.equal(replyText(client.frames, "p1"), LONG);
    assertContiguous(client, "p1");
    assert.equal(framesFor(client, "p1", "done").length, 1);
    client.close();
  },
);

Deno.test(
  "a turn queued while the workers' subscription is down is still answered",
  opts,
  async () => {
    const client = await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
    stack.bridge.dropSubscriptions();
    const end = await sendTurn(client, "q1", "hello while nobody listens");
    assertDone(end, stack.logs);
    client.close();
  },
);

Deno.test("each web server is told only of its own sessions' events", opts, async () => {
  const seen = new Map<string, Set<string>>();
  const subscriber = stack.redis.psubscribe<string>("chat:srv:*");
  subscriber.on("pmessage", ({ channel, message }) => {
    const hint = parseHint(String(message));
    if (!hint) return;
    const server = channel.slice("chat:srv:".length);
    if (!seen.has(server)) seen.set(server, new Set());
    seen.get(server)!.add(hint.stream);
  });
  await new Promise((r) => setTimeout(r, 200));
  try {
    const [a, b] = [await newSession(stack.baseUrls[0]), await newSession(stack.baseUrls[1])];
    const clientA = await ChatClient.connect(stack.baseUrls[0], a);
    const clientB = await ChatClient.connect(stack.baseUrls[1], b);
    assertDone(await sendTurn(clientA, "a1", "hi A"), stack.logs);
    assertDone(await sendTurn(clientB, "b1", "hi B"), stack.logs);
    const holder = async (token: string) => {
      const list = await stack.redis.hget<string>(sessionKeys(token).turns, HOLDERS_FIELD);
      const servers = (list ?? "").split(" ").filter(Boolean);
      assert.equal(servers.length, 1, `one holder for the session: ${servers}`);
      return servers[0];
    };
    const [serverA, serverB] = [await holder(a), await holder(b)];
    assert.notEqual(serverA, serverB);
    const [streamA, streamB] = [
      await streamHintId(sessionKeys(a).replies),
      await streamHintId(sessionKeys(b).replies),
    ];
    await waitFor(() => seen.get(serverA)?.has(streamA) === true, "A's pushes");
    await waitFor(() => seen.get(serverB)?.has(streamB) === true, "B's pushes");
    assert.deepEqual([...seen.get(serverA)!], [streamA]);
    assert.deepEqual([...seen.get(serverB)!], [streamB]);
    clientA.close();
    clientB.close();
  } finally {
    await subscriber.unsubscribe();
  }
});

// The worker that keeps a conversation: handed it whole once, then only its newest messages, while
// the model still sees all of it; a change to an earlier message, or another worker, means the
// whole conversation again. Hand-offs are watched as they are published (PSUBSCRIBE).
import assert from "node:assert/strict";
import { RespConnection } from "../dev/resp.ts";
import { type Handoff, parseHandoff, workerChannel } from "../lib/redis/handoff.ts";
import { WORKERS_HASH } from "../lib/redis/keys.ts";
import { doneOf } from "./support/chat.ts";
import { echoReply, type OpenAIRequestBody } from "./fixtures/model_servers.ts";
import { ChatClient, newSession, type Stack, startStack } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

let stack: Stack;
let watch: HandoffWatch;
Deno.test.beforeAll(async () => {
  stack = await startStack({
    reply: (body) => {
      const last = body.messages.at(-1)?.content ?? "";
      return last.startsWith("fail") ? "" : echoReply(last); // an empty answer fails the turn
    },
  });
  watch = await HandoffWatch.start(stack);
});
Deno.test.afterAll(async () => {
  watch?.close();
  await stack?.stop();
});
const opts = { sanitizeOps: false, sanitizeResources: false };

/** Every hand-off published to any worker, in order, with the worker it went to. */
class HandoffWatch {
  seen: { worker: string; handoff: Handoff }[] = [];
  private constructor(private subscriber: ReturnType<Stack["redis"]["psubscribe"]>) {}

  /** @upstash/redis's own psubscribe(), through the bridge, as the product's clients speak it. */
  static async start(stack: Stack): Promise<HandoffWatch> {
    const subscriber = stack.redis.psubscribe<string>(["chat:wk:*"]);
    const watch = new HandoffWatch(subscriber);
    const ready = new Promise((r) => subscriber.on("psubscribe", r));
    subscriber.on("pmessage", ({ channel, message }) => {
      const handoff = parseHandoff(message);
      if (handoff) watch.seen.push({ worker: channel.slice(workerChannel("").length), handoff });
    });
    await ready;
    return watch;
  }

  /** The hand-off of turn `id`. */
  async of(id: string): Promise<{ worker: string; handoff: Handoff }> {
    const find = () => this.seen.find((s) => s.handoff.entry[1].includes(id));
    await waitFor(() => find() !== undefined, `the hand-off of ${id}`);
    return find()!;
  }

  close(): void {
    this.subscriber.unsubscribe().catch(() => {});
  }
}

/** What the model was asked for the turn whose question is `text` (system prompt left out). */
function modelSaw(text: string): string[] {
  const body = stack.model!.requests.map((r) => r.body as OpenAIRequestBody)
    .filter((b) => b?.messages?.at(-1)?.content === text).at(-1);
  assert.ok(body, `the model was asked "${text}"`);
  return body.messages.filter((m) => m.role !== "system").map((m) => m.content);
}

/** The workers announced now. */
const workers = async () => await stack.redis.hkeys(WORKERS_HASH);

/**
 * A new session whose conversation its worker keeps: two questions asked, the second handed over
 * as the newest messages only. Answers the socket and the worker that keeps it.
 */
async function keptConversation(prefix: string) {
  const client = await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
  await ask(client, `${prefix}1`, "one");
  await ask(client, `${prefix}2`, "two");
  const { worker, handoff } = await watch.of(`${prefix}2`);
  assert.ok(handoff.tail, "kept before anything changed");
  return { client, worker };
}

/** What the model sees for question `q` asked after keptConversation()'s two. */
const afterOneTwo = (q: string) => ["one", echoReply("one"), "two", echoReply("two"), q];

/** Waits until `worker` listens on its channel again. */
async function subscribed(worker: string) {
  const resp = await RespConnection.connect(stack.redisServer.port);
  try {
    await waitFor(async () => {
      const [reply] = await resp.send([["PUBSUB", "NUMSUB", workerChannel(worker)]]);
      return (reply as [unknown, number])[1] > 0;
    }, "the worker subscribed again");
  } finally {
    await resp.close();
  }
}

async function ask(client: ChatClient, id: string, content: string, frame = {}) {
  client.send({ type: "message", id, content, ...frame });
  await client.waitFor((f) => f.id === id && (f.type === "done" || f.type === "error"));
}

Deno.test(
  "the worker that keeps a conversation is handed its newest messages only",
  opts,
  async () => {
    const client = await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
    const expected: string[] = [];
    for (let i = 1; i <= 6; i++) {
      await ask(client, `k${i}`, `question ${i}`);
      const { handoff } = await watch.of(`k${i}`);
      if (i === 1) {
        assert.deepEqual(handoff.members?.length, 1, "the first hand-off carries it all");
      } else {
        assert.equal(handoff.members, undefined, `hand-off ${i} carries no whole conversation`);
        assert.ok(handoff.tail, `hand-off ${i} carries the newest messages`);
        assert.ok(handoff.tail.members.length <= 8);
        assert.equal(handoff.tail.count, 2 * i - 1);
      }
      expected.push(`question ${i}`);
      assert.deepEqual(modelSaw(`question ${i}`), expected, `the model saw all of turn ${i}'s`);
      expected.push(echoReply(`question ${i}`));
    }
    client.close();
  },
);

Deno.test(
  "a failed turn, an edit or a regenerate hands the whole conversation over again",
  opts,
  async () => {
    const { client } = await keptConversation("f");
    // The failure is written onto "fail now" after it was handed over.
    await ask(client, "f3", "fail now");
    await ask(client, "f4", "after the failure");
    assert.ok((await watch.of("f4")).handoff.members, "a failure changed an earlier message");
    assert.deepEqual(modelSaw("after the failure"), afterOneTwo("after the failure"));
    await ask(client, "f5", "fifth");
    assert.ok((await watch.of("f5")).handoff.tail, "kept again");
    client.send({ type: "edit", id: "f6", message: "f2", content: "two, edited" });
    await client.waitFor(doneOf("f6"));
    assert.ok((await watch.of("f6")).handoff.members, "an edit cut the conversation");
    assert.deepEqual(modelSaw("two, edited"), ["one", echoReply("one"), "two, edited"]);
    await ask(client, "f7", "seventh");
    assert.ok((await watch.of("f7")).handoff.tail);
    client.send({ type: "regenerate", id: "f8" });
    await client.waitFor(doneOf("f8"));
    assert.ok((await watch.of("f8")).handoff.members, "a regenerate dropped a reply");
    client.close();
  },
);

Deno.test(
  "after its subscription came back, the worker reads what it no longer keeps",
  opts,
  async () => {
    const { client, worker } = await keptConversation("s");
    stack.bridge.dropSubscriptions(); // hand-offs may have been lost: the worker forgets
    watch.close(); // this watch was dropped too
    watch = await HandoffWatch.start(stack);
    await subscribed(worker);
    await ask(client, "s3", "three");
    assert.ok((await watch.of("s3")).handoff.tail, "the keeper still gets the newest only");
    assert.deepEqual(modelSaw("three"), afterOneTwo("three"));
    client.close();
  },
);

Deno.test("another worker is handed the whole conversation", opts, async () => {
  const { client, worker: kept } = await keptConversation("w");
  await stack.workers[0].stop();
  await stack.startWorker();
  await waitFor(async () => {
    const names = await workers();
    return names.length === 1 && names[0] !== kept;
  }, "the new worker's announcement");
  // The web server's list of workers is up to 2 s old (lib/server/availability.ts), and one turn
  // after that may still be sent to the old worker (nobody hears it; the new one reads it).
  await new Promise((r) => setTimeout(r, 2100));
  await ask(client, "w3", "three");
  await ask(client, "w4", "four");
  const toNew = [await watch.of("w3"), await watch.of("w4")].filter((h) => h.worker !== kept);
  assert.ok(toNew.length > 0, "a hand-off reached the new worker");
  assert.ok(toNew[0].handoff.members, "the new worker kept nothing");
  const all = ["one", "two", "three", "four"].flatMap((q) => [q, echoReply(q)]);
  assert.deepEqual(modelSaw("three"), all.slice(0, 5));
  assert.deepEqual(modelSaw("four"), all.slice(0, 7));
  await ask(client, "w5", "five");
  assert.ok((await watch.of("w5")).handoff.tail, "and keeps it from then on");
  client.close();
});

// Pub/sub through the REST bridge: the SSE wire format Upstash uses, and the behaviours
// @upstash/redis's own subscribe/psubscribe tests check, run with its Redis client against our
// bridge and a real redis-server. Also the RESP parser those streams are read with.
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { startBridge } from "../dev/bridge.ts";
import { startRedisServer } from "../dev/redis_server.ts";
import {
  encodeCommands,
  RespConnection,
  RespError,
  RespParser,
  type RespValue,
} from "../dev/resp.ts";
import { waitFor } from "./support/wait.ts";

const TOKEN = "pubsub-" + crypto.randomUUID();
const AUTH = { authorization: `Bearer ${TOKEN}` };
const utf8 = new TextEncoder();

Deno.test("RESP commands carry every string's UTF-8 byte length, as TextEncoder writes it", () => {
  // ASCII, 2-, 3- and 4-byte characters, and lone surrogates (written as U+FFFD, three bytes).
  const args = ["SET", "k", "plain", "é", "€uro", "😀 pair", "\ud800 lone", "end \udc00", ""];
  const expected = `*${args.length}\r\n` +
    args.map((a) => `$${utf8.encode(a).length}\r\n${a}\r\n`).join("");
  assert.deepEqual(
    encodeCommands([args, ["PING"]]),
    utf8.encode(expected + "*1\r\n$4\r\nPING\r\n"),
  );
  assert.equal(new TextDecoder().decode(encodeCommands([["é"]])), "*1\r\n$2\r\né\r\n");
});

Deno.test("RESP parser handles replies and pushes split at every byte", () => {
  const wire = utf8.encode(
    "+OK\r\n-ERR boom\r\n:-42\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n$5\r\nh\r\nlo\r\n" +
      "*3\r\n*2\r\n:1\r\n$1\r\na\r\n*1\r\n*1\r\n$-1\r\n+x\r\n:9007199254740993\r\n" +
      ":-9223372036854775808\r\n*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n",
  );
  const expected: RespValue[] = [
    "OK",
    new RespError("ERR boom"),
    -42,
    null,
    null,
    [],
    new Uint8Array(),
    utf8.encode("h\r\nlo"),
    [[1, utf8.encode("a")], [[null]], "x"],
    9007199254740993n,
    -9223372036854775808n,
    [utf8.encode("message"), utf8.encode("c"), utf8.encode("hi")],
  ];
  for (const step of [1, 2, 3, 7, wire.length]) {
    const parser = new RespParser();
    const got: RespValue[] = [];
    for (let i = 0; i < wire.length; i += step) {
      parser.push(wire.subarray(i, i + step), (v) => got.push(v));
    }
    assert.deepEqual(got, expected, `step ${step}`);
    assert.equal((got[1] as RespError).message, "ERR boom");
  }
  assert.deepEqual(
    new TextDecoder().decode(encodeCommands([["SET", "k", "é"], ["PING"]])),
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n*1\r\n$4\r\nPING\r\n",
  );
});

/** An SSE response read event by event (comment lines, the keep-alives, skipped). */
async function stream(url: string, headers: Record<string, string> = {}, method = "POST") {
  const abort = new AbortController();
  const res = await fetch(url, { method, headers: { ...AUTH, ...headers }, signal: abort.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const next = async (): Promise<string | null> => {
    while (!buffer.includes("\n\n")) {
      const { done, value } = await reader.read();
      if (done) return null;
      buffer += value;
    }
    const at = buffer.indexOf("\n\n");
    const event = buffer.slice(0, at);
    buffer = buffer.slice(at + 2);
    return event.startsWith(":") ? next() : event;
  };
  const close = async () => {
    abort.abort();
    await reader.cancel().catch(() => {});
  };
  return { res, next, close };
}

Deno.test("pub/sub over SSE, as Upstash and @upstash/redis 1.39 speak it", async (t) => {
  const server = await startRedisServer();
  const bridge = await startBridge({ redisPort: server.port, token: TOKEN });
  const redis = new Redis({ url: bridge.url, token: TOKEN, enableTelemetry: false });
  const raw = new Redis({
    url: bridge.url,
    token: TOKEN,
    enableTelemetry: false,
    automaticDeserialization: false,
  });
  const admin = await RespConnection.connect(server.port);
  /** Subscribers Redis knows of: PUBSUB NUMSUB <channel>, or NUMPAT without one. */
  const count = async (channel?: string) => {
    const [n] = await admin.send([channel ? ["PUBSUB", "NUMSUB", channel] : ["PUBSUB", "NUMPAT"]]);
    return Number(Array.isArray(n) ? n[1] : n);
  };
  const publish = (channel: string, message: string) =>
    fetch(bridge.url, {
      method: "POST",
      body: JSON.stringify(["PUBLISH", channel, message]),
      headers: AUTH,
    }).then((r) => r.json());
  try {
    await t.step("the wire format: subscribe, message, psubscribe, pmessage", async () => {
      const sub = await stream(`${bridge.url}/subscribe/wire`, { "upstash-encoding": "base64" });
      assert.equal(sub.res.status, 200);
      assert.equal(sub.res.headers.get("content-type"), "text/event-stream");
      assert.equal(await sub.next(), "data: subscribe,wire,1");
      // Payloads go out as they are: the SDK sends Upstash-Encoding on subscribe requests too and
      // never base64-decodes the stream, and Upstash's own SDK tests expect plain messages.
      assert.deepEqual(await publish("wire", 'a,b {"x":1} ✓'), { result: 1 });
      assert.equal(await sub.next(), 'data: message,wire,a,b {"x":1} ✓');
      await publish("wire", "two\nlines");
      assert.equal(await sub.next(), "data: message,wire,two\ndata: lines");
      const pat = await stream(`${bridge.url}/psubscribe/news.*`, {}, "GET");
      assert.equal(await pat.next(), "data: psubscribe,news.*,1");
      assert.deepEqual(await publish("news.tech", "chips"), { result: 1 });
      assert.equal(await pat.next(), "data: pmessage,news.*,news.tech,chips");
      const both = await stream(`${bridge.url}/subscribe/x%20y/z`);
      assert.deepEqual([await both.next(), await both.next()], [
        "data: subscribe,x y,1",
        "data: subscribe,z,2",
      ]);
      // PUBLISH from pipelines and transactions reaches subscribers too.
      const p = await redis.pipeline().publish("wire", "piped").publish("z", "piped").exec();
      assert.deepEqual(p, [1, 1]);
      assert.deepEqual(await redis.multi().publish("wire", "tx").exec(), [1]);
      assert.deepEqual([await sub.next(), await both.next()], [
        "data: message,wire,piped",
        "data: message,z,piped",
      ]);
      assert.equal(await sub.next(), "data: message,wire,tx");
      await Promise.all([sub.close(), pat.close(), both.close()]);
      // The client going away closes its Redis connection.
      await waitFor(async () => await count("wire") === 0, "wire unsubscribed");
      await waitFor(async () => await count() === 0, "news.* unsubscribed");
    });

    await t.step("refusals: no token, no channel", async () => {
      const anonymous = await fetch(`${bridge.url}/subscribe/c`, { method: "POST" });
      assert.deepEqual(await anonymous.json(), { error: "Unauthorized" });
      const empty = await fetch(`${bridge.url}/subscribe`, { method: "POST", headers: AUTH });
      assert.equal(empty.status, 400);
      assert.match((await empty.json()).error, /wrong number of arguments/);
    });

    await t.step("SDK: a single message, then several in order, on a named event", async () => {
      const subscriber = redis.subscribe<unknown>(["sdk-single"]);
      const counts: number[] = [];
      const messages: unknown[] = [];
      const named: unknown[] = [];
      subscriber.on("subscribe", (n) => counts.push(n));
      subscriber.on("message", ({ message }) => messages.push(message));
      subscriber.on("message:sdk-single", ({ message }) => named.push(message));
      await waitFor(() => counts.length === 1, "the subscribe event");
      assert.deepEqual(counts, [1]);
      const objects = [1, 2, 3].map((i) => ({ user: "user1", message: `#${i}`, at: Date.now() }));
      await redis.publish("sdk-single", "really?");
      for (const o of objects) await redis.publish("sdk-single", o);
      await waitFor(() => messages.length === 4, () => `4 messages, got ${messages.length}`);
      assert.deepEqual(messages, ["really?", ...objects]);
      assert.deepEqual(named, messages);
      await subscriber.unsubscribe();
    });

    await t.step("SDK: several subscribers get the same message, each counting 1", async () => {
      const subscribers = [redis.subscribe(["sdk-multi"]), redis.subscribe(["sdk-multi"])];
      const got = subscribers.map((s) => {
        const seen: { counts: number[]; messages: unknown[] } = { counts: [], messages: [] };
        s.on("subscribe", (n) => seen.counts.push(n));
        s.on("message", ({ message }) => seen.messages.push(message));
        return seen;
      });
      await waitFor(() => got.every((g) => g.counts.length === 1), "both subscribed");
      const message = { user: "testUser", message: "Broadcast", timestamp: Date.now() };
      assert.equal(await redis.publish("sdk-multi", message), 2);
      await waitFor(() => got.every((g) => g.messages.length === 1), "both messages");
      assert.deepEqual(got, [
        { counts: [1], messages: [message] },
        { counts: [1], messages: [message] },
      ]);
      await Promise.all(subscribers.map((s) => s.unsubscribe()));
    });

    await t.step("SDK: unsubscribing from one channel keeps the other", async () => {
      const subscriber = redis.subscribe(["channel1", "channel2"]);
      const got: Record<string, unknown[]> = { channel1: [], channel2: [] };
      let subscribed = 0;
      subscriber.on("subscribe", () => subscribed++);
      subscriber.on("message", ({ channel, message }) => got[channel].push(message));
      await waitFor(() => subscribed === 2, "both channels");
      await redis.publish("channel1", { test: "before1" });
      await redis.publish("channel2", { test: "before2" });
      await waitFor(() => got.channel1.length + got.channel2.length === 2, "two messages");
      await subscriber.unsubscribe(["channel1"]);
      assert.deepEqual(subscriber.getSubscribedChannels(), ["channel2"]);
      await waitFor(async () => await count("channel1") === 0, "channel1 closed");
      await redis.publish("channel1", { test: "after1" });
      await redis.publish("channel2", { test: "after2" });
      await waitFor(() => got.channel2.length === 2, "after2");
      assert.deepEqual(got, {
        channel1: [{ test: "before1" }],
        channel2: [{ test: "before2" }, { test: "after2" }],
      });
      await subscriber.unsubscribe();
    });

    await t.step("SDK: psubscribe matches patterns and tells pattern and channel", async () => {
      const subscriber = redis.psubscribe<{ msg: string }>(["user:*", "chat:*:messages"]);
      const got: { pattern: string; channel: string; message: { msg: string } }[] = [];
      let subscribed = 0;
      subscriber.on("psubscribe", () => subscribed++);
      subscriber.on("pmessage", (m) => got.push(m));
      await waitFor(() => subscribed === 2, "both patterns");
      for (const channel of ["user:123", "other:789", "chat:room1:users", "chat:room1:messages"]) {
        await redis.publish(channel, { msg: channel });
      }
      await redis.publish("user:end", { msg: "end" }); // same stream as user:123, so after it
      await waitFor(() => got.length === 3, () => `3 pmessages, got ${JSON.stringify(got)}`);
      const sorted = got.sort((a, b) => a.channel.localeCompare(b.channel));
      assert.deepEqual(sorted, [
        {
          pattern: "chat:*:messages",
          channel: "chat:room1:messages",
          message: { msg: "chat:room1:messages" },
        },
        { pattern: "user:*", channel: "user:123", message: { msg: "user:123" } },
        { pattern: "user:*", channel: "user:end", message: { msg: "end" } },
      ]);
      await subscriber.unsubscribe(["user:*"]);
      assert.deepEqual(subscriber.getSubscribedChannels(), ["chat:*:messages"]);
      await waitFor(async () => await count() === 1, "user:* closed");
      got.length = 0;
      await redis.publish("user:123", { msg: "late" });
      await redis.publish("chat:room2:messages", { msg: "chat2" });
      await waitFor(() => got.length === 1, "chat2");
      assert.equal(got[0].message.msg, "chat2");
      await subscriber.unsubscribe();
    });

    await t.step(
      "SDK: pattern and channel subscriptions together; raw strings stay raw",
      async () => {
        const patterns = redis.psubscribe(["both:*"]);
        const channel = raw.subscribe<string>(["both:1"]);
        const got: unknown[] = [];
        let subscribed = 0;
        patterns.on("psubscribe", () => subscribed++);
        channel.on("subscribe", () => subscribed++);
        patterns.on("pmessage", ({ message }) => got.push(["pattern", message]));
        channel.on("message", ({ message }) => got.push(["channel", message]));
        await waitFor(() => subscribed === 2, "both subscribed");
        const big = JSON.stringify({ text: "ü".repeat(150_000) });
        assert.equal(await raw.publish("both:1", big), 2);
        await waitFor(() => got.length === 2, "two deliveries");
        assert.deepEqual(got.sort(), [["channel", big], ["pattern", JSON.parse(big)]]);
        await Promise.all([patterns.unsubscribe(), channel.unsubscribe()]);
      },
    );

    await t.step("closing the bridge ends open streams", async () => {
      const sub = await stream(`${bridge.url}/subscribe/last`);
      assert.equal(await sub.next(), "data: subscribe,last,1");
      await bridge.close();
      assert.equal(await sub.next(), null);
      await waitFor(async () => await count("last") === 0, "last unsubscribed");
    });
  } finally {
    await bridge.close();
    await admin.close();
    await server.stop();
  }
});

Deno.test("subscriptions AUTH when Redis has a password", async () => {
  const server = await startRedisServer({ password: true });
  const bridge = await startBridge({
    redisPort: server.port,
    token: TOKEN,
    redisPassword: server.password,
  });
  try {
    const sub = await stream(`${bridge.url}/subscribe/locked`);
    assert.equal(await sub.next(), "data: subscribe,locked,1");
    const redis = new Redis({ url: bridge.url, token: TOKEN, enableTelemetry: false });
    assert.equal(await redis.publish("locked", "open"), 1);
    assert.equal(await sub.next(), "data: message,locked,open");
    await sub.close();
  } finally {
    await bridge.close();
    await server.stop();
  }
});

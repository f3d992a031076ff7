// The local Upstash REST bridge, driven by the real @upstash/redis client against a private
// redis-server.
import assert from "node:assert/strict";
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { startBridge } from "../dev/bridge.ts";
import { startRedisServer } from "../dev/redis_server.ts";

const TOKEN = "test-token-" + crypto.randomUUID();

async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
  return { status: res.status, json: await res.json() };
}

Deno.test("REST bridge speaks @upstash/redis", async (t) => {
  const server = await startRedisServer();
  let redisPort = server.port;
  let redis = server;
  const bridge = await startBridge({ redisPort, token: TOKEN });
  const client = (opts: Partial<RedisConfigNodejs> = {}) =>
    new Redis({ url: bridge.url, token: TOKEN, enableTelemetry: false, ...opts });
  const r = client();
  const raw = client({ automaticDeserialization: false });
  const plain = client({ responseEncoding: false, automaticDeserialization: false });
  const direct = client({ enableAutoPipelining: false, automaticDeserialization: false });
  try {
    await t.step("strings: unicode, number-like and JSON-like values", async () => {
      const values = [
        "héllo wörld 🌍 日本語",
        "123",
        "007",
        "1e3",
        '{"a":[1,2]}',
        "",
        "OK",
        "null",
      ];
      for (const [i, v] of values.entries()) {
        assert.equal(await r.set(`str:${i}`, v), "OK");
        assert.equal(await raw.get(`str:${i}`), v, `raw ${JSON.stringify(v)}`);
        assert.equal(await plain.get(`str:${i}`), v, `plain ${JSON.stringify(v)}`);
        assert.equal(await direct.get(`str:${i}`), v, `direct ${JSON.stringify(v)}`);
      }
      // automaticDeserialization (default) parses JSON, but keeps strings whose number form differs
      assert.equal(await r.get("str:0"), values[0]);
      assert.equal(await r.get("str:1"), 123);
      assert.equal(await r.get("str:2"), "007");
      assert.equal(await r.get("str:3"), "1e3");
      assert.deepEqual(await r.get("str:4"), { a: [1, 2] });
      assert.equal(await r.get("str:7"), null);
      assert.equal(await r.get("missing"), null);
      assert.equal(await raw.get("missing"), null);
      await r.set("obj", { nested: { ok: true }, list: ["x"] });
      assert.deepEqual(await r.get("obj"), { nested: { ok: true }, list: ["x"] });
      assert.equal(await raw.get("obj"), '{"nested":{"ok":true},"list":["x"]}');
      assert.equal(await r.incrby("counter", 5), 5);
      assert.equal(await direct.incr("counter"), 6);
      assert.equal(await r.ping(), "PONG");
    });

    await t.step("binary bulk strings are base64 encoded byte for byte", async () => {
      const body = JSON.stringify(["EVAL", "return string.char(255, 0, 1, 128)", 0]);
      const b64 = await post(bridge.url, body, {
        authorization: `Bearer ${TOKEN}`,
        "upstash-encoding": "base64",
      });
      assert.deepEqual(b64, { status: 200, json: { result: "/wABgA==" } });
      const text = await post(bridge.url, JSON.stringify(["SET", "k", 12.5]), {
        authorization: `Bearer ${TOKEN}`,
      });
      assert.deepEqual(text, { status: 200, json: { result: "OK" } });
      assert.equal(await raw.get("k"), "12.5");
    });

    await t.step("hashes", async () => {
      assert.equal(await r.hset("h", { name: "Ada", age: "36", meta: { a: 1 } }), 3);
      assert.deepEqual(await r.hgetall("h"), { name: "Ada", age: 36, meta: { a: 1 } });
      // without automatic deserialization the client hands back Redis' flat field/value list
      assert.deepEqual(await raw.hgetall("h"), ["name", "Ada", "age", "36", "meta", '{"a":1}']);
      assert.equal(await r.hget("h", "name"), "Ada");
      assert.equal(await r.hgetall("nohash"), null);
    });

    await t.step("streams with a consumer group", async () => {
      const id1 = await r.xadd("s", "*", { role: "user", text: "hi ✓" });
      const id2 = await r.xadd("s", "*", { role: "assistant", text: "42" });
      assert.match(id1, /^\d+-\d+$/);
      assert.deepEqual(await r.xrange("s", "-", "+"), {
        [id1]: { role: "user", text: "hi ✓" },
        [id2]: { role: "assistant", text: 42 },
      });
      assert.equal(await r.xgroup("s", { type: "CREATE", group: "g", id: "0" }), "OK");
      const read = await raw.xreadgroup("g", "c1", "s", ">", { count: 10 });
      assert.deepEqual(read, [[
        "s",
        [[id1, ["role", "user", "text", "hi ✓"]], [id2, ["role", "assistant", "text", "42"]]],
      ]]);
      assert.equal(await r.xack("s", "g", id1), 1);
      const claimed = await raw.xautoclaim("s", "g", "c2", 0, "0-0", { count: 10 });
      assert.deepEqual(claimed, ["0-0", [[id2, ["role", "assistant", "text", "42"]]], []]);
      assert.deepEqual(await raw.xreadgroup("g", "c1", "s", ">"), null);
      await assert.rejects(
        raw.xreadgroup("g", "c1", "s", ">", { blockMS: 100 }),
        /BLOCK is not supported/,
      );
    });

    await t.step("eval returns nested arrays", async () => {
      const script = "return {KEYS[1], {ARGV[1], 42, {ARGV[2]}}, {}, false, 'OK'}";
      assert.deepEqual(await raw.eval(script, ["k1"], ["v1", "ü"]), [
        "k1",
        ["v1", 42, ["ü"]],
        [],
        null,
        "OK",
      ]);
      assert.deepEqual(await plain.eval(script, ["k1"], ["v1", "ü"]), [
        "k1",
        ["v1", 42, ["ü"]],
        [],
        null,
        "OK",
      ]);
      const status = "return {redis.call('SET', KEYS[1], ARGV[1]), redis.call('TYPE', KEYS[1])}";
      assert.deepEqual(await raw.eval(status, ["lk"], ["x"]), ["OK", "string"]);
      // evalsha falls back to eval on NOSCRIPT, which needs the error text passed through
      const counted = r.createScript<number>("return redis.call('INCRBY', KEYS[1], ARGV[1])");
      assert.equal(await counted.exec(["sc"], ["3"]), 3);
      assert.equal(await counted.exec(["sc"], ["4"]), 7);
      await assert.rejects(
        raw.eval("return redis.error_reply('MYERR nope')", [], []),
        /MYERR nope/,
      );
    });

    await t.step("SCRIPT LOAD accepts allow-key-locking and answers the original sha", async () => {
      // @upstash/ratelimit's scripts carry this flag; Upstash knows it, Redis 7.0 does not.
      const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])";
      const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(script));
      const sha = new Uint8Array(digest).toHex();
      assert.equal(await raw.scriptLoad(script), sha);
      assert.deepEqual(await raw.scriptExists(sha), [1]);
      assert.equal(await raw.evalsha(sha, ["sl"], [5]), 5);
      const p = raw.pipeline().scriptLoad(script).evalsha(sha, ["sl"], [1]);
      assert.deepEqual(await p.exec(), [sha, 6]);
      const m = raw.multi().scriptLoad(script).evalsha(sha, ["sl"], [1]);
      assert.deepEqual(await m.exec(), [sha, 7]);
    });

    await t.step("integers beyond 2^53 keep every digit", async () => {
      const res = await fetch(bridge.url, {
        method: "POST",
        body: JSON.stringify(["INCRBY", "big", "9007199254740993"]),
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(await res.text(), '{"result":9007199254740993}');
      assert.equal(await raw.get("big"), "9007199254740993");
    });

    await t.step("pipeline keeps going past a failing command", async () => {
      const p = raw.pipeline();
      p.set("p:a", "1").incr("str:0").get("p:a").lpush("p:l", "x", "y").lrange("p:l", 0, -1);
      const res = await p.exec({ keepErrors: true });
      assert.equal(res.length, 5);
      assert.deepEqual(res[0], { result: "OK", error: undefined });
      assert.match(String(res[1].error), /not an integer/);
      assert.deepEqual(res.slice(2).map((x) => x.result), ["1", 2, ["y", "x"]]);
      const failing = raw.pipeline().set("p:b", "2").incr("str:0");
      await assert.rejects(failing.exec(), /Command 2 \[ incr \] failed/);
      assert.equal(await raw.get("p:b"), "2");
    });

    await t.step("multi-exec: runtime errors per command, queue errors abort", async () => {
      const m = raw.multi();
      m.set("m:a", "1").incr("str:0").incr("m:a").get("m:a");
      const res = await m.exec({ keepErrors: true });
      assert.equal(res[0].result, "OK");
      assert.match(String(res[1].error), /not an integer/);
      assert.deepEqual([res[2].result, res[3].result], [2, "2"]);
      const aborted = await post(
        `${bridge.url}/multi-exec`,
        JSON.stringify([["SET", "m:b", "1"], ["SET", "only-a-key"]]),
        { authorization: `Bearer ${TOKEN}` },
      );
      assert.equal(aborted.status, 400);
      assert.match(String((aborted.json as { error: string }).error), /^EXECABORT.*wrong number/);
      assert.equal(await raw.get("m:b"), null);
      const refused = await post(`${bridge.url}/multi-exec`, JSON.stringify([["BLPOP", "x", 0]]), {
        authorization: `Bearer ${TOKEN}`,
      });
      assert.equal(refused.status, 400);
    });

    await t.step("auth", async () => {
      const wrong = new Redis({ url: bridge.url, token: "nope", enableTelemetry: false });
      await assert.rejects(wrong.get("str:0"), /Unauthorized/);
      const none = await post(bridge.url, '["GET","str:0"]');
      assert.deepEqual(none, { status: 401, json: { error: "Unauthorized" } });
      const basic = await post(`${bridge.url}/pipeline`, '[["GET","str:0"]]', {
        authorization: `Basic ${TOKEN}`,
      });
      assert.equal(basic.status, 401);
    });

    await t.step("bad requests get JSON errors and the bridge carries on", async () => {
      const auth = { authorization: `Bearer ${TOKEN}` };
      const cases: [string, string, number][] = [
        ["/", "{not json", 400],
        ["/", '{"a":1}', 400],
        ["/", "[]", 400],
        ["/", '["GET", null]', 400],
        ["/", '["BLPOP", "q", 0]', 400],
        ["/", '["SUBSCRIBE", "c"]', 400],
        ["/", '["MONITOR"]', 400],
        ["/", '["NOSUCHCOMMAND"]', 400],
        ["/pipeline", "[[", 400],
        ["/nowhere", "[]", 404],
      ];
      for (const [path, body, status] of cases) {
        const res = await post(bridge.url + path, body, auth);
        assert.equal(res.status, status, `${path} ${body}`);
        assert.equal(typeof (res.json as { error: unknown }).error, "string", body);
      }
      const mixed = await post(
        `${bridge.url}/pipeline`,
        '[["SET","pm","v"],["BLPOP","q",0],["GET","pm"]]',
        auth,
      );
      assert.equal(mixed.status, 200);
      const items = mixed.json as { result?: unknown; error?: string }[];
      assert.deepEqual([items[0], items[2]], [{ result: "OK" }, { result: "v" }]);
      assert.equal(items[1].error, "ERR command BLPOP is not allowed");
      assert.equal(await raw.get("str:1"), "123");
    });

    await t.step("200 concurrent commands get their own answers", async () => {
      const n = 200;
      const ids = Array.from({ length: n }, (_, i) => i);
      for (const c of [direct, raw]) {
        await Promise.all(ids.map((i) => c.set(`cc:${i}`, `v${i}-${"x".repeat(i * 37)}`)));
        const got = await Promise.all(
          ids.map((i) => i % 2 ? c.get(`cc:${i}`) : c.incrby(`ci:${i}`, i)),
        );
        for (const i of ids) {
          assert.equal(got[i], i % 2 ? `v${i}-${"x".repeat(i * 37)}` : i, `#${i}`);
        }
        await c.del(...ids.map((i) => `ci:${i}`));
      }
      const pipes = await Promise.all(
        ids.slice(0, 50).map((i) => direct.pipeline().set(`pc:${i}`, `${i}`).get(`pc:${i}`).exec()),
      );
      pipes.forEach((res, i) => assert.deepEqual(res, ["OK", `${i}`]));
    });

    await t.step("reconnects after redis-server restarts", async () => {
      await raw.set("before", "1");
      await redis.stop();
      await assert.rejects(direct.get("before"), /redis unavailable/);
      redis = await startRedisServer({ port: redisPort });
      redisPort = redis.port;
      assert.equal(await direct.get("before"), null);
      assert.equal(await raw.set("after", "2"), "OK");
      assert.deepEqual(await Promise.all([raw.get("after"), direct.get("after")]), ["2", "2"]);
      const m = await raw.multi().incr("tx").incr("tx").exec();
      assert.deepEqual(m, [1, 2]);
    });

    await t.step("throughput (printed, not asserted)", async () => {
      await direct.set("bench", "value");
      const run = async (workers: number) => {
        let count = 0;
        const until = performance.now() + 1000;
        const start = performance.now();
        await Promise.all(
          Array.from({ length: workers }, async () => {
            while (performance.now() < until) {
              await direct.get("bench");
              count++;
            }
          }),
        );
        return Math.round(count / ((performance.now() - start) / 1000));
      };
      console.log(
        `bridge GET: ${await run(1)} req/s sequential, ${await run(16)} req/s with 16 in flight`,
      );
    });
  } finally {
    await bridge.close();
    await redis.stop();
  }
});

// The Redis client's request deadline and its observer: a REST endpoint that never answers must
// not stall a caller for longer than the timeout, and every request is reported once.
import assert from "node:assert/strict";
import { createRedis } from "../lib/redis/client.ts";
import { startBridge } from "../dev/bridge.ts";
import { startRedisServer } from "../dev/redis_server.ts";

/** An HTTP server that accepts requests and never answers them (a hung Upstash or bridge). */
function silentServer() {
  const pending: (() => void)[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Promise<Response>((resolve) => {
        pending.push(() => resolve(new Response(null, { status: 503 })));
      }),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      for (const answer of pending) answer();
      await server.shutdown();
    },
  };
}

Deno.test("a request to a Redis that never answers rejects within the timeout", async () => {
  const server = silentServer();
  const seen: [string, boolean][] = [];
  try {
    const redis = createRedis({ url: server.url, token: "t" }, {
      timeoutMs: 300,
      observe: (command, ok) => seen.push([command, ok]),
    });
    const started = performance.now();
    await assert.rejects(redis.ping());
    const took = performance.now() - started;
    assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
    assert.deepEqual(seen, [["ping", false]]);
  } finally {
    await server.close();
  }
});

Deno.test("the observer sees each answered request with its command name", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ result: "PONG" }),
  );
  try {
    const seen: [string, boolean][] = [];
    const redis = createRedis(
      { url: `http://127.0.0.1:${server.addr.port}`, token: "t" },
      { observe: (command, ok) => seen.push([command, ok]) },
    );
    // Upstash answers base64-encoded results unless told otherwise; the raw client decodes them.
    await redis.ping().catch(() => {});
    assert.equal(seen.length, 1);
    assert.equal(seen[0][0], "ping");
  } finally {
    await server.shutdown();
  }
});

Deno.test("replies come back as exact text without base64 (emoji, CJK, combining marks, controls)", async () => {
  const server = await startRedisServer();
  const bridge = await startBridge({ redisPort: server.port, token: "t" });
  try {
    const redis = createRedis({ url: bridge.url, token: "t" });
    const text = 'héllo 🙂 日本語 e\u0301 \u0000\u001f "quoted" \\ back\nline';
    await redis.set("k", text);
    assert.equal(await redis.get("k"), text);
    await redis.xadd("s", "*", { text });
    const [[, fields]] = await redis.xrange("s", "-", "+") as unknown as [string, string[]][];
    assert.deepEqual(fields, ["text", text]);
  } finally {
    await bridge.close();
    await server.stop();
  }
});

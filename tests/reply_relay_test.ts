// The relay on a real redis-server: one listener whose cursor Redis refuses is moved back on its
// own, while every other listener keeps getting its events from the same shared read.
import assert from "node:assert/strict";
import { startBridge } from "../dev/bridge.ts";
import { startRedisServer } from "../dev/redis_server.ts";
import { createRedis } from "../lib/redis/client.ts";
import { type ReplyListener, ReplyRelay } from "../lib/server/reply_relay.ts";
import { waitFor } from "./support/wait.ts";

function listener(key: string, cursor: string) {
  const got: string[] = [];
  let failed = 0;
  const l: ReplyListener & { got: string[]; failed: () => number } = {
    key,
    sessionKey: key.replace("chat:r:", "chat:s:"),
    turnsKey: key.replace("chat:r:", "chat:t:"),
    cursor,
    got,
    failed: () => failed,
    expecting: () => true,
    deliver: (_event, fields) => got.push(fields.text),
    cursorFailed() {
      failed++;
      l.cursor = "0-0";
    },
  };
  return l;
}

Deno.test("a cursor Redis refuses stalls nobody else and is moved back", async () => {
  const server = await startRedisServer();
  const bridge = await startBridge({ redisPort: server.port, token: "t" });
  const redis = createRedis({ url: bridge.url, token: "t" });
  const relay = new ReplyRelay(redis, null, { expectingFallbackMs: 50 });
  try {
    // Past the 64-bit range: Redis answers "Invalid stream ID" for the whole multi-key XREAD.
    const bad = listener("chat:r:bad", "18446744073709551616-0");
    const good = listener("chat:r:good", "0-0");
    relay.add(bad);
    relay.add(good);
    await redis.xadd("chat:r:good", "*", { text: "for good" });
    await redis.xadd("chat:r:bad", "*", { text: "for bad" });
    await waitFor(() => good.got.length === 1 && bad.got.length === 1, "both deliveries");
    assert.deepEqual(good.got, ["for good"]);
    assert.equal(bad.failed(), 1);
    // Closed sockets leave nothing behind (their hint ids included), however many came and went.
    relay.remove(bad);
    relay.remove(good);
    assert.equal(relay.streams, 0);
  } finally {
    relay.close();
    await bridge.close();
    await server.stop();
  }
});

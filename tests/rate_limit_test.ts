// RATE_LIMIT_PER_MINUTE=N must admit N turns in any window, never N+1. @upstash/ratelimit's
// slidingWindow let a burst at the end of one fixed window be followed by one more at the start
// of the next (it floors the previous window's weighted count); this is the test that caught it.
import assert from "node:assert/strict";
import { startBridge } from "../dev/bridge.ts";
import { startRedisServer } from "../dev/redis_server.ts";
import { createRedis } from "../lib/redis/client.ts";
import { TurnQueue } from "../lib/redis/turn_queue.ts";
import { createSession } from "../lib/server/session.ts";

const WINDOW_MS = 3000;
const LIMIT = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function untilWindowAt(from: number, to: number) {
  while (Date.now() % WINDOW_MS < from || Date.now() % WINDOW_MS > to) await sleep(2);
}

Deno.test("a burst at a window's end is not followed by one more at the next one's start", async () => {
  const redisServer = await startRedisServer();
  const bridge = await startBridge({ redisPort: redisServer.port, token: "t" });
  try {
    const redis = createRedis({ url: bridge.url, token: "t" });
    const queue = new TurnQueue(redis, 3600, { rate: { limit: LIMIT, windowMs: WINDOW_MS } });
    const { token } = await createSession(redis, "Ada", 3600);
    let n = 0;
    const turn = () => queue.accept(token, `t${n++}`, "hi");
    // Late in one window (the old limiter bucketed by epoch multiples of the window)...
    await untilWindowAt(2000, 2100);
    const started = Date.now();
    let admitted = 0;
    for (let i = 0; i < LIMIT; i++) if ((await turn()).outcome === "queued") admitted++;
    assert.equal(admitted, LIMIT, "a fresh session gets its full allowance");
    // ...then right after the next one starts, well within one window of the burst.
    await untilWindowAt(10, 60);
    const extra = await turn();
    assert.ok(Date.now() - started < WINDOW_MS);
    assert.equal(extra.outcome, "rate_limited", `turn ${LIMIT + 1} within one window was admitted`);
    const reset = Date.now() + extra.retryAfterMs;
    assert.ok(extra.retryAfterMs > 0 && reset <= started + WINDOW_MS + 100);
    // A refused turn is not counted, and a resent id is still a duplicate, never a second turn.
    assert.equal((await queue.accept(token, "t0", "hi")).outcome, "duplicate");
    // Once the burst has left the window, turns are admitted again.
    await sleep(extra.retryAfterMs + 50);
    assert.equal((await turn()).outcome, "queued");
  } finally {
    await bridge.close();
    await redisServer.stop();
  }
});

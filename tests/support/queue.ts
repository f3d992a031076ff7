// A TurnQueue on its own redis-server and REST bridge (no web server, no worker), for tests of the
// queue's scripts; `resp` talks to Redis directly (TTL, INFO, fault injection), `endpoint` is the
// bridge's (for subscriptions).
import { startBridge } from "../../dev/bridge.ts";
import { startRedisServer } from "../../dev/redis_server.ts";
import { RespConnection } from "../../dev/resp.ts";
import { createRedis, type RedisEndpoint } from "../../lib/redis/client.ts";
import { TurnQueue } from "../../lib/redis/turn_queue.ts";

export async function withQueue(
  fn: (queue: TurnQueue, resp: RespConnection, endpoint: RedisEndpoint) => Promise<void>,
  ttl = 3600,
): Promise<void> {
  const server = await startRedisServer();
  const bridge = await startBridge({ redisPort: server.port, token: "t" });
  const resp = await RespConnection.connect(server.port, { password: server.password });
  try {
    const endpoint = { url: bridge.url, token: "t" };
    const queue = new TurnQueue(createRedis(endpoint), ttl);
    await queue.ensureGroup();
    await fn(queue, resp, endpoint);
  } finally {
    await resp.close();
    await bridge.close();
    await server.stop();
  }
}

// What the web server's routes share, built once in main.ts.
import { Ratelimit } from "@upstash/ratelimit";
import { Redis as UpstashRedis } from "@upstash/redis";
import { cachedAvailability } from "./availability.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { TurnQueue } from "../redis/turn_queue.ts";
import { createRedis, type RedisEndpoint } from "../redis/client.ts";
import { ReplyRelay } from "./reply_relay.ts";

export function createDeps(config: Config, endpoint: RedisEndpoint) {
  const redis = createRedis(endpoint);
  // Its own client: the rate limiter expects the client's default JSON decoding.
  const limiterRedis = new UpstashRedis({
    url: endpoint.url,
    token: endpoint.token,
    enableTelemetry: false,
  });
  return {
    config,
    redis,
    queue: new TurnQueue(redis, config.SESSION_TTL_SECONDS),
    relay: new ReplyRelay(redis),
    availability: cachedAvailability(redis),
    /** Turns per session. */
    ratelimit: new Ratelimit({
      redis: limiterRedis,
      limiter: Ratelimit.slidingWindow(config.RATE_LIMIT_PER_MINUTE, "60 s"),
      prefix: "chat:rl",
    }),
    /** New sessions per client address, so tokens cannot be minted without bound. */
    sessionRatelimit: new Ratelimit({
      redis: limiterRedis,
      limiter: Ratelimit.slidingWindow(config.SESSION_RATE_LIMIT_PER_MINUTE, "60 s"),
      prefix: "chat:rl:addr",
    }),
  };
}

export type Deps = ReturnType<typeof createDeps>;
export type AppEnv = { Variables: { deps: Deps; requestId: string; log: Logger } };

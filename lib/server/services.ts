// What the web server's routes share, built once in main.ts.
import { Ratelimit } from "@upstash/ratelimit";
import { Redis as UpstashRedis } from "@upstash/redis";
import { cachedAvailability } from "./availability.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { TurnQueue } from "../redis/turn_queue.ts";
import { ConversationStore } from "../redis/conversations.ts";
import { createRedis, type RedisEndpoint } from "../redis/client.ts";
import { createServerMetrics } from "./metrics.ts";
import { ReplyRelay } from "./reply_relay.ts";

/**
 * New sessions per client address: @upstash/ratelimit, whose approximating sliding window does no
 * harm there. (Turns per session are an exact sliding log inside ACCEPT_TURN, at no extra command.)
 */
export function createSessionLimiter(
  endpoint: RedisEndpoint,
  config: Pick<Config, "SESSION_RATE_LIMIT_PER_MINUTE">,
  windowMs = 60_000,
) {
  return new Ratelimit({
    // Its own client: the library expects the client's default JSON decoding.
    redis: new UpstashRedis({ url: endpoint.url, token: endpoint.token, enableTelemetry: false }),
    limiter: Ratelimit.slidingWindow(config.SESSION_RATE_LIMIT_PER_MINUTE, `${windowMs} ms`),
    prefix: "chat:rl:addr",
  });
}

export function createDeps(config: Config, endpoint: RedisEndpoint) {
  const metrics = createServerMetrics();
  const redis = createRedis(endpoint, { observe: metrics.redis });
  return {
    config,
    redis,
    metrics,
    queue: new TurnQueue(redis, config.SESSION_TTL_SECONDS, {
      maxConversations: config.MAX_CONVERSATIONS,
      rate: { limit: config.RATE_LIMIT_PER_MINUTE, windowMs: 60_000 },
    }),
    conversations: new ConversationStore(
      redis,
      config.SESSION_TTL_SECONDS,
      config.MAX_CONVERSATIONS,
    ),
    relay: new ReplyRelay(redis, endpoint),
    availability: cachedAvailability(redis),
    /** New sessions per client address, so tokens cannot be minted without bound. */
    sessionRatelimit: createSessionLimiter(endpoint, config),
  };
}

export type Deps = ReturnType<typeof createDeps>;
export type AppEnv = { Variables: { deps: Deps; requestId: string; log: Logger } };

// What the web server's routes share, built once in main.ts.
import { Ratelimit } from "@upstash/ratelimit";
import { Redis as UpstashRedis } from "@upstash/redis";
import { cachedAvailability } from "./availability.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { SlidingLogLimiter } from "../redis/rate_limit.ts";
import { TurnQueue } from "../redis/turn_queue.ts";
import { ConversationStore } from "../redis/conversations.ts";
import { createRedis, type Redis, type RedisEndpoint } from "../redis/client.ts";
import { createServerMetrics } from "./metrics.ts";
import { ReplyRelay } from "./reply_relay.ts";

/**
 * Turns per session: an exact sliding log (RATE_LIMIT_PER_MINUTE=20 admits 20 in any 60 s; the
 * approximating sliding window of @upstash/ratelimit admits a 21st right after a window ends).
 * New sessions per client address: @upstash/ratelimit, where that approximation does no harm.
 */
export function createLimiters(
  redis: Redis,
  endpoint: RedisEndpoint,
  config: Pick<Config, "RATE_LIMIT_PER_MINUTE" | "SESSION_RATE_LIMIT_PER_MINUTE">,
  windowMs = 60_000,
) {
  return {
    turns: new SlidingLogLimiter(redis, {
      limit: config.RATE_LIMIT_PER_MINUTE,
      windowMs,
      prefix: "chat:rl",
    }),
    sessions: new Ratelimit({
      // Its own client: the library expects the client's default JSON decoding.
      redis: new UpstashRedis({ url: endpoint.url, token: endpoint.token, enableTelemetry: false }),
      limiter: Ratelimit.slidingWindow(config.SESSION_RATE_LIMIT_PER_MINUTE, `${windowMs} ms`),
      prefix: "chat:rl:addr",
    }),
  };
}

export function createDeps(config: Config, endpoint: RedisEndpoint) {
  const metrics = createServerMetrics();
  const redis = createRedis(endpoint, { observe: metrics.redis });
  const limiters = createLimiters(redis, endpoint, config);
  return {
    config,
    redis,
    metrics,
    queue: new TurnQueue(redis, config.SESSION_TTL_SECONDS, config.MAX_CONVERSATIONS),
    conversations: new ConversationStore(
      redis,
      config.SESSION_TTL_SECONDS,
      config.MAX_CONVERSATIONS,
    ),
    relay: new ReplyRelay(redis, endpoint),
    availability: cachedAvailability(redis),
    /** Turns per session. */
    ratelimit: limiters.turns,
    /** New sessions per client address, so tokens cannot be minted without bound. */
    sessionRatelimit: limiters.sessions,
  };
}

export type Deps = ReturnType<typeof createDeps>;
export type AppEnv = { Variables: { deps: Deps; requestId: string; log: Logger } };

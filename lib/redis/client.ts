// The product's only Redis client: @upstash/redis over REST (Upstash, or our local bridge).
import { Redis } from "@upstash/redis";
import type { Config } from "../config.ts";

/** Where `deno task redis` / `deno task start` record the local bridge they started. */
export const LOCAL_BRIDGE_FILE = ".data/bridge.json";

export interface RedisEndpoint {
  url: string;
  token: string;
}

export async function resolveRedisEndpoint(config: Config): Promise<RedisEndpoint> {
  if (config.UPSTASH_REDIS_REST_URL) {
    if (!config.UPSTASH_REDIS_REST_TOKEN) {
      throw new Error("UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not.");
    }
    return { url: config.UPSTASH_REDIS_REST_URL, token: config.UPSTASH_REDIS_REST_TOKEN };
  }
  try {
    return JSON.parse(await Deno.readTextFile(LOCAL_BRIDGE_FILE)) as RedisEndpoint;
  } catch {
    throw new Error(
      "No Redis configured. Set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, " +
        "or run `deno task redis` (a local redis-server behind our REST bridge), " +
        "or use `deno task start`, which runs everything.",
    );
  }
}

/** Raw replies (no JSON guessing): stream fields and history content stay exact strings. */
export function createRedis(endpoint: RedisEndpoint): Redis {
  return new Redis({
    url: endpoint.url,
    token: endpoint.token,
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: { retries: 3, backoff: (n) => Math.min(1000, 50 * 2 ** n) },
  });
}

export type { Redis };

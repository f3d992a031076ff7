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

/**
 * No request may take longer than this, retries included: a hung connection must never stall a
 * polling loop (the relay's, a worker's) or a health probe. Our longest command is a Lua script
 * over one session's keys, which takes milliseconds.
 */
export const REDIS_TIMEOUT_MS = 5000;

/** Told about every HTTP request to Redis (a pipeline is one request), for metrics. */
export type RedisObserver = (command: string, ok: boolean, seconds: number) => void;

export interface RedisOptions {
  timeoutMs?: number;
  observe?: RedisObserver;
}

/** Raw replies (no JSON guessing): stream fields and history content stay exact strings. */
export function createRedis(endpoint: RedisEndpoint, opts: RedisOptions = {}): Redis {
  const timeoutMs = opts.timeoutMs ?? REDIS_TIMEOUT_MS;
  const redis = new Redis({
    url: endpoint.url,
    token: endpoint.token,
    automaticDeserialization: false,
    // Plain JSON strings, not base64: everything we store is UTF-8 text (JS strings), and decoding
    // every string of every reply was a visible share of a busy worker's CPU.
    responseEncoding: false,
    enableTelemetry: false,
    retry: { retries: 3, backoff: (n) => Math.min(1000, 50 * 2 ** n) },
    // A function: a fresh deadline per request (the client calls it once per request, and an
    // aborted request is not retried).
    signal: () => AbortSignal.timeout(timeoutMs),
  });
  const observe = opts.observe;
  if (observe) {
    redis.use(async (req, next) => {
      const started = performance.now();
      const name = commandName(req.path, req.body);
      try {
        const res = await next(req);
        observe(name, true, (performance.now() - started) / 1000);
        return res;
      } catch (err) {
        observe(name, false, (performance.now() - started) / 1000);
        throw err;
      }
    });
  }
  return redis;
}

/**
 * A bounded label: the command's name. The client batches commands issued together into one
 * pipeline request: a batch of one kind is named after it, a mixed one "pipeline".
 */
function commandName(path: string[] | undefined, body: unknown): string {
  if (!Array.isArray(body)) return "unknown";
  if (!path?.length) return String(body[0]).toLowerCase();
  const names = new Set(body.map((c) => Array.isArray(c) ? String(c[0]).toLowerCase() : "?"));
  return names.size === 1 ? [...names][0] : path.join("/");
}

export type { Redis };

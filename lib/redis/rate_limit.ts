// Per-identifier rate limits (turns per session, new sessions per address) as an exact sliding
// log in Redis: RATE_LIMIT_PER_MINUTE=20 admits 20 in any 60 s, never 21.
import type { Redis } from "./client.ts";
import { ScriptRunner } from "./script_runner.ts";
import { RATE_LIMIT } from "./scripts.ts";

export interface LimitResult {
  success: boolean;
  /** When (ms since the epoch) the next admission is possible; now when it already is. */
  reset: number;
}

export class SlidingLogLimiter {
  readonly #scripts: ScriptRunner;

  constructor(
    private readonly redis: Redis,
    private readonly opts: { limit: number; windowMs: number; prefix: string },
  ) {
    this.#scripts = new ScriptRunner(redis);
  }

  async limit(identifier: string): Promise<LimitResult> {
    const key = `${this.opts.prefix}:${identifier}`;
    const now = Date.now();
    const member = `${now}-${crypto.randomUUID()}`;
    const { limit, windowMs } = this.opts;
    const outcome = await this.#scripts.run(RATE_LIMIT, [key], [
      String(now),
      String(windowMs),
      String(limit),
      member,
    ]);
    if (outcome === "allowed") return { success: true, reset: now };
    // Refused: the oldest admission in the window decides when a slot frees up.
    const oldest = await this.redis.zrange(key, 0, 0, { withScores: true }) as unknown as string[];
    const at = Number(oldest?.[1]);
    return { success: false, reset: Number.isFinite(at) ? at + windowMs : now + windowMs };
  }
}

// GET /api/health: Redis reachable and some worker able to answer. /api/health/live and
// /api/health/ready are the probes a platform restarts or routes by: live asks nothing of Redis
// (a Redis outage must not get healthy servers restarted), ready asks only Redis (a web server
// serves pages and sessions without workers, so a missing worker must not take it out of rotation).
import type { Context } from "hono";
import type { AppEnv } from "../../lib/server/services.ts";
import type { Health, Liveness, Readiness } from "../../lib/contract/payloads.ts";

export function live(c: Context<AppEnv>) {
  c.header("Cache-Control", "no-store");
  return c.json({ status: "ok" } satisfies Liveness);
}

export async function ready(c: Context<AppEnv>) {
  c.header("Cache-Control", "no-store");
  try {
    await c.var.deps.redis.ping();
    return c.json({ status: "ok", redis: "ok" } satisfies Readiness);
  } catch (err) {
    c.var.log.warn("ready: redis failed", { error: String(err) });
    return c.json({ status: "unavailable", redis: "unreachable" } satisfies Readiness, 503);
  }
}

export async function handler(c: Context<AppEnv>) {
  const { redis, availability } = c.var.deps;
  let body: Health;
  try {
    await redis.ping();
    const model = await availability();
    body = {
      status: model.available ? "ok" : "degraded",
      redis: "ok",
      model: model.available ? model.model : "unavailable",
      ...(model.gpu ? { gpu: model.gpu } : {}),
      ...(model.available ? {} : { detail: model.detail }),
    };
  } catch (err) {
    c.var.log.error("health: redis failed", { error: String(err) });
    body = {
      status: "degraded",
      redis: "unreachable",
      model: "unknown",
      detail: "Redis cannot be reached.",
    };
  }
  return c.json(body, body.status === "ok" ? 200 : 503);
}

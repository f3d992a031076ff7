// GET /api/health: Redis reachable and some worker able to answer.
import type { Context } from "hono";
import type { AppEnv } from "../../lib/server/services.ts";
import type { Health } from "../../lib/contract/payloads.ts";

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

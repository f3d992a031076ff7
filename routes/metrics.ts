// GET /metrics: this web server's Prometheus metrics (names and meanings in the README).
import type { Context } from "hono";
import { metricsResponse } from "../lib/metrics.ts";
import type { AppEnv } from "../lib/server/services.ts";

export function handler(c: Context<AppEnv>) {
  return metricsResponse(c.var.deps.metrics.registry);
}

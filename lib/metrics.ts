// What the web server's and the worker's Prometheus metrics share: one registry per process, the
// Redis request counters (fed by createRedis's observer) and the text-format response. Every
// metric name is listed in the README; labels only ever take a bounded set of values.
import client from "prom-client";
import type { RedisObserver } from "./redis/client.ts";

export type Registry = client.Registry;
export { client as prom };

/** Redis round trips are milliseconds on loopback and tens of ms to Upstash. */
const REDIS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createRegistry(): Registry {
  return new client.Registry();
}

/** Counts every Redis request and failure by command, and times them. */
export function redisMetrics(registry: Registry): RedisObserver {
  const requests = new client.Counter({
    name: "chat_redis_requests_total",
    help: "HTTP requests to Redis (Upstash REST), by command; a batch of one command counts once.",
    labelNames: ["command"],
    registers: [registry],
  });
  const errors = new client.Counter({
    name: "chat_redis_errors_total",
    help: "Redis requests that failed (refused, timed out, or an HTTP error status), by command.",
    labelNames: ["command"],
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: "chat_redis_request_duration_seconds",
    help: "Time of one Redis request, retries included.",
    buckets: REDIS_BUCKETS,
    registers: [registry],
  });
  return (command, ok, seconds) => {
    requests.inc({ command });
    if (!ok) errors.inc({ command });
    duration.observe(seconds);
  };
}

/** The registry in Prometheus text format. */
export async function metricsResponse(registry: Registry): Promise<Response> {
  return new Response(await registry.metrics(), {
    headers: { "content-type": registry.contentType, "cache-control": "no-store" },
  });
}

// The web server's view of whether any worker can answer, cached briefly so a burst of turns
// costs one Redis read, not one each.
import type { Redis } from "../redis/client.ts";
import { type ModelAvailability, modelAvailability } from "../redis/worker_registry.ts";

/**
 * `availability(true)` may answer "a worker can answer" from a cache up to `maxStaleMs` old while it
 * refreshes in the background: a turn after a pause then costs no extra round trip before it is
 * queued (workers' announcements themselves last 45 s). A stale "no model" is read again first,
 * since the turn would be refused on it. Without `true` the answer is at most `maxAgeMs` old.
 */
export function cachedAvailability(redis: Redis, maxAgeMs = 2000, maxStaleMs = 30_000) {
  let cached: { at: number; value: Promise<ModelAvailability> } | null = null;
  let settled: { at: number; value: ModelAvailability } | null = null;
  const refresh = () => {
    const at = Date.now();
    const value = modelAvailability(redis);
    cached = { at, value };
    value.then((v) => settled = { at, value: v }, () => cached = null);
    return value;
  };
  let deferred = false;
  return (allowStale = false): Promise<ModelAvailability> => {
    const now = Date.now();
    if (cached && now - cached.at <= maxAgeMs) return cached.value;
    if (allowStale && settled?.value.available && now - settled.at <= maxStaleMs) {
      // After the caller's own requests: starting a request costs a cold process about half a
      // millisecond, which the turn that found the answer stale would otherwise wait for.
      if (!deferred) {
        deferred = true;
        setTimeout(() => {
          deferred = false;
          if (!cached || Date.now() - cached.at > maxAgeMs) refresh().catch(() => {});
        }, 0);
      }
      return Promise.resolve(settled.value);
    }
    return refresh();
  };
}

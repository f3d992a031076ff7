// The web server's view of whether any worker can answer, cached briefly so a burst of turns
// costs one Redis read, not one each.
import type { Redis } from "../redis/client.ts";
import { type ModelAvailability, modelAvailability } from "../redis/worker_registry.ts";

export function cachedAvailability(redis: Redis, maxAgeMs = 2000) {
  let cached: { at: number; value: Promise<ModelAvailability> } | null = null;
  return (): Promise<ModelAvailability> => {
    if (!cached || Date.now() - cached.at > maxAgeMs) {
      const value = modelAvailability(redis);
      cached = { at: Date.now(), value };
      value.catch(() => cached = null);
    }
    return cached.value;
  };
}

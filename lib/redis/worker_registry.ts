// Workers announce which model they serve, so the web server (which never loads a model) can
// answer /api/health and refuse turns early when no model can take them.
import { WORKERS_HASH } from "./keys.ts";
import type { Redis } from "./client.ts";
import type { Candidate } from "./handoff.ts";

export interface WorkerStatus {
  model: string;
  /** What the model runs on (the embedded model's backend), once loaded. */
  gpu?: string;
  ready: boolean;
  /** What is wrong and how to fix it, when not ready. */
  detail?: string;
  /** Epoch ms after which this announcement is stale (the worker died). */
  until: number;
  /** Turns it runs at once: web servers hand it turns while it has fewer pending. */
  capacity?: number;
}

/** Workers announce this often (with the intake tick); an announcement lasts three periods. */
export const ANNOUNCE_EVERY_MS = 15_000;

/** A worker's announcement as its WORKERS_HASH field (written alone, or with the intake's tick). */
export const announcement = (consumer: string, status: WorkerStatus): Record<string, string> => ({
  [consumer]: JSON.stringify(status),
});

export async function announce(redis: Redis, consumer: string, status: WorkerStatus) {
  await redis.hset(WORKERS_HASH, announcement(consumer, status));
}

export async function withdraw(redis: Redis, consumer: string) {
  await redis.hdel(WORKERS_HASH, consumer);
}

export interface ModelAvailability {
  available: boolean;
  model: string;
  gpu?: string;
  detail?: string;
  /** The ready workers turns may be handed to (handoff.ts). */
  workers: Candidate[];
}

/** Reads the live announcements and forgets the stale ones. */
export async function modelAvailability(redis: Redis): Promise<ModelAvailability> {
  const raw = await redis.hgetall(WORKERS_HASH) as unknown as string[] | null;
  const now = Date.now();
  const live: WorkerStatus[] = [];
  const stale: string[] = [];
  const workers: Candidate[] = [];
  for (let i = 0; raw && i + 1 < raw.length; i += 2) {
    try {
      const status = JSON.parse(raw[i + 1]) as WorkerStatus;
      if (status.until <= now) {
        stale.push(raw[i]);
        continue;
      }
      live.push(status);
      if (status.ready && Number(status.capacity) > 0) {
        workers.push({ id: raw[i], capacity: Number(status.capacity) });
      }
    } catch {
      stale.push(raw[i]);
    }
  }
  if (stale.length) await redis.hdel(WORKERS_HASH, ...stale);
  const ready = live.find((s) => s.ready);
  if (ready) return { available: true, model: ready.model, gpu: ready.gpu, workers };
  if (live.length) {
    return { available: false, model: live[0].model, detail: live[0].detail, workers };
  }
  return {
    workers,
    available: false,
    model: "none",
    detail: "No worker is running. Start one with `deno task worker` (or use `deno task start`).",
  };
}

/** The registry as the worker uses it. */
export function workerRegistry(redis: Redis) {
  return {
    announce: (consumer: string, status: WorkerStatus) => announce(redis, consumer, status),
    withdraw: (consumer: string) => withdraw(redis, consumer),
  };
}

// The worker process: configuration → provider → TurnWorker.run(), stopped in order on SIGINT or
// SIGTERM (turns in progress finish or are left pending for another worker). Run as many as you
// like; see lib/worker/turn_worker.ts for what one does.
import { loadConfig } from "./lib/config.ts";
import { configureLogging, logOptions } from "./lib/log.ts";
import { createProvider, workerConcurrency } from "./lib/providers/mod.ts";
import { createRedis, resolveRedisEndpoint } from "./lib/redis/client.ts";
import { readHistory } from "./lib/redis/history.ts";
import { TurnQueue } from "./lib/redis/turn_queue.ts";
import { workerRegistry } from "./lib/redis/worker_registry.ts";
import { TurnWorker } from "./lib/worker/turn_worker.ts";

const config = loadConfig();
configureLogging(logOptions(config), { process: "worker" });
const redis = createRedis(await resolveRedisEndpoint(config));
const worker = new TurnWorker({
  queue: new TurnQueue(redis, config.SESSION_TTL_SECONDS),
  provider: await createProvider(config),
  registry: workerRegistry(redis),
  history: (token) => readHistory(redis, token),
}, {
  concurrency: workerConcurrency(config),
  claimIdleMs: config.WORKER_CLAIM_IDLE_MS,
});

const shutdown = async () => {
  await worker.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
await worker.run();

// The worker process: configuration → provider → TurnWorker.run(), stopped in order on SIGINT or
// SIGTERM (turns in progress finish or are left pending for another worker). Run as many as you
// like; see lib/worker/turn_worker.ts for what one does.
import { listenHost, loadConfig } from "./lib/config.ts";
import { configureLogging, log, logOptions } from "./lib/log.ts";
import { createProvider, workerConcurrency } from "./lib/providers/mod.ts";
import { createRedis, resolveRedisEndpoint } from "./lib/redis/client.ts";
import { readHistoryMembers } from "./lib/redis/history.ts";
import { handoffSubscription } from "./lib/redis/subscription.ts";
import { TurnQueue } from "./lib/redis/turn_queue.ts";
import { workerRegistry } from "./lib/redis/worker_registry.ts";
import { createWorkerMetrics, serveWorkerMetrics } from "./lib/worker/metrics.ts";
import { TurnWorker } from "./lib/worker/turn_worker.ts";

const config = loadConfig();
configureLogging(logOptions(config), { process: "worker" });
const metrics = createWorkerMetrics();
const endpoint = await resolveRedisEndpoint(config);
const redis = createRedis(endpoint, { observe: metrics.redis });
const provider = await createProvider(config);
const worker = new TurnWorker({
  queue: new TurnQueue(redis, config.SESSION_TTL_SECONDS),
  provider,
  registry: workerRegistry(redis),
  history: (token, conversation) => readHistoryMembers(redis, token, conversation),
  wakeups: handoffSubscription(endpoint),
}, {
  concurrency: workerConcurrency(config),
  claimIdleMs: config.WORKER_CLAIM_IDLE_MS,
  metrics,
});
metrics.watch(worker);
const metricsServer = config.WORKER_METRICS_PORT === undefined ? null : serveWorkerMetrics(
  { port: config.WORKER_METRICS_PORT, hostname: listenHost(config), model: provider.name },
  metrics,
  worker,
  log,
);

const shutdown = async () => {
  await worker.stop();
  await metricsServer?.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
await worker.run();

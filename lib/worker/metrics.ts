// The worker's metrics and its small HTTP endpoint (WORKER_METRICS_PORT): /metrics in Prometheus
// text format (turns running and ended, tokens, model latency, Redis counters) and /health for a
// supervisor (200 while the model can answer, 503 while it cannot). Also the one line per turn.
import type { Logger } from "../log.ts";
import { createRegistry, metricsResponse, prom, redisMetrics, type Registry } from "../metrics.ts";
import type { RedisObserver } from "../redis/client.ts";
import type { QueuedTurn } from "../redis/turn_queue.ts";

const MODEL_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];

/** What a TurnWorker reports; in tests it usually has no metrics at all. */
export interface TurnMetrics {
  /**
   * `outcome`: done, stopped, an error code, gave_up, dropped (not a turn), left (for another
   * worker, at shutdown) or why the commit was refused (not_owner, session_gone, ...).
   */
  turnEnded(outcome: string, seconds: number, tokens: number): void;
  /** Seconds from asking the model to its first piece of text. */
  firstToken(seconds: number): void;
  /** Seconds from asking the model to its last piece (or to the stop). */
  generated(seconds: number): void;
}

/** A turn's tally while it runs: pieces generated and how it ended so far. */
export interface TurnStats {
  tokens: number;
  outcome: string;
}

/**
 * One structured line per turn ("turn done", JSON under LOG_FORMAT=json) with the request id the
 * web server queued it with, so one grep finds a turn in both processes' logs; and its metrics.
 */
export function turnReporter(
  metrics: TurnMetrics | undefined,
  testLog: ((line: string) => void) | undefined,
  log: Logger,
) {
  return (turn: QueuedTurn, stats: TurnStats, seconds: number) => {
    metrics?.turnEnded(stats.outcome, seconds, stats.tokens);
    const fields = {
      turn: turn.turn,
      outcome: stats.outcome,
      ms: Math.round(seconds * 1000),
      tokens: stats.tokens,
      request_id: turn.requestId || undefined,
    };
    if (testLog) testLog(`turn done ${JSON.stringify(fields)}`);
    else log.info("turn done", fields);
  };
}

/** What the endpoint reads from the running worker at each scrape. */
export interface WorkerState {
  readonly running: number;
  readonly modelReady: boolean;
}

export interface WorkerMetrics extends TurnMetrics {
  registry: Registry;
  redis: RedisObserver;
  /** Gauges read the worker when scraped. */
  watch(worker: WorkerState): void;
}

export function createWorkerMetrics(): WorkerMetrics {
  const registry = createRegistry();
  const registers = [registry];
  let worker: WorkerState | null = null;
  new prom.Gauge({
    name: "chat_worker_turns_running",
    help: "Turns this worker is answering right now.",
    registers,
    collect() {
      this.set(worker?.running ?? 0);
    },
  });
  new prom.Gauge({
    name: "chat_worker_model_ready",
    help: "1 while this worker's model can answer, else 0.",
    registers,
    collect() {
      this.set(worker?.modelReady ? 1 : 0);
    },
  });
  const turns = new prom.Counter({
    name: "chat_worker_turns_total",
    help: "Turns this worker ended, by outcome (done, stopped, model_error, ...).",
    labelNames: ["outcome"],
    registers,
  });
  const tokens = new prom.Counter({
    name: "chat_worker_tokens_total",
    help: "Pieces of text the model streamed (one per token for the streaming providers).",
    registers,
  });
  const turnSeconds = new prom.Histogram({
    name: "chat_worker_turn_duration_seconds",
    help: "From taking a turn to committing (or failing) it.",
    buckets: MODEL_BUCKETS,
    registers,
  });
  const firstToken = new prom.Histogram({
    name: "chat_worker_model_first_token_seconds",
    help: "Model latency: from asking the model to its first piece of text.",
    buckets: MODEL_BUCKETS,
    registers,
  });
  const generated = new prom.Histogram({
    name: "chat_worker_model_generation_seconds",
    help: "From asking the model to its last piece of text (or the stop).",
    buckets: MODEL_BUCKETS,
    registers,
  });
  return {
    registry,
    redis: redisMetrics(registry),
    watch(w) {
      worker = w;
    },
    turnEnded(outcome, seconds, n) {
      turns.inc({ outcome });
      tokens.inc(n);
      turnSeconds.observe(seconds);
    },
    firstToken: (seconds) => firstToken.observe(seconds),
    generated: (seconds) => generated.observe(seconds),
  };
}

/** Serves /metrics and /health until the process ends. */
export function serveWorkerMetrics(
  opts: { port: number; hostname: string; model: string },
  metrics: WorkerMetrics,
  worker: WorkerState,
  log: Logger,
): Deno.HttpServer {
  return Deno.serve({
    port: opts.port,
    hostname: opts.hostname,
    onListen: ({ hostname, port }) =>
      log.info(`worker metrics on http://${hostname}:${port}/metrics`, { hostname, port }),
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics") return await metricsResponse(metrics.registry);
    if (path === "/health") {
      const ready = worker.modelReady;
      return Response.json({
        status: ready ? "ok" : "degraded",
        model: opts.model,
        model_ready: ready,
        running: worker.running,
      }, { status: ready ? 200 : 503 });
    }
    return Response.json({ error: { code: "not_found", message: `Nothing at ${path}.` } }, {
      status: 404,
    });
  });
}

// The web server's metrics: HTTP requests by route and status, open sockets, turns by outcome and
// how long users wait (ack → first delta, ack → done), plus the Redis counters of lib/metrics.ts.
// Turn timings are measured by the socket that queued the turn, so another tab showing the same
// reply never counts it twice. Each such turn also gets one log line when it ends.
import type { ErrorCode } from "../contract/frames.ts";
import type { Logger } from "../log.ts";
import { createRegistry, prom, redisMetrics, type Registry } from "../metrics.ts";
import type { RedisObserver } from "../redis/client.ts";

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const FIRST_DELTA_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
const DONE_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];

/** Error codes that refuse a turn before it is queued (the rest end a queued one). */
const REFUSALS = new Set<string>(
  [
    "rate_limited",
    "message_too_long",
    "model_unavailable",
    "busy",
  ] satisfies (ErrorCode | "busy")[],
);

/** What a chat socket reports: the hooks lib/server/chat_connection.ts calls. */
export interface ConnectionMetrics {
  opened(): void;
  closed(): void;
  /** The turn was queued (not a resent duplicate): its clock starts. */
  acked(turn: string): void;
  /** A reply event reached this socket. */
  delivered(entry: { type: string; id: string; stopped?: string; code?: string }): void;
  /** This socket sent an error frame. */
  refused(code: string): void;
}

export interface ServerMetrics {
  registry: Registry;
  redis: RedisObserver;
  http(method: string, route: string, status: number, seconds: number): void;
  connection(log: Logger): ConnectionMetrics;
}

export function createServerMetrics(): ServerMetrics {
  const registry = createRegistry();
  const labels = { registers: [registry] };
  const requests = new prom.Counter({
    name: "chat_http_requests_total",
    help: "HTTP requests, by method, route pattern and status (WebSocket upgrades answer 101).",
    labelNames: ["method", "route", "status"],
    ...labels,
  });
  const duration = new prom.Histogram({
    name: "chat_http_request_duration_seconds",
    help: "Time to answer an HTTP request, by method, route pattern and status.",
    labelNames: ["method", "route", "status"],
    buckets: HTTP_BUCKETS,
    ...labels,
  });
  const sockets = new prom.Gauge({
    name: "chat_websockets_open",
    help: "Chat WebSockets this server holds open.",
    ...labels,
  });
  const turns = new prom.Counter({
    name: "chat_turns_total",
    help: "User turns by outcome: done, stopped, or the error code that ended or refused them.",
    labelNames: ["outcome"],
    ...labels,
  });
  const firstDelta = new prom.Histogram({
    name: "chat_turn_first_delta_seconds",
    help: "From a turn's ack to its first delta frame, measured on the socket that sent it.",
    buckets: FIRST_DELTA_BUCKETS,
    ...labels,
  });
  const done = new prom.Histogram({
    name: "chat_turn_done_seconds",
    help: "From a turn's ack to its done (or error) frame, measured on the socket that sent it.",
    buckets: DONE_BUCKETS,
    ...labels,
  });

  return {
    registry,
    redis: redisMetrics(registry),
    http(method, route, status, seconds) {
      const l = { method, route, status: String(status) };
      requests.inc(l);
      duration.observe(l, seconds);
    },
    connection(log) {
      return new SocketMetrics({ sockets, turns, firstDelta, done }, log);
    },
  };
}

interface TurnInstruments {
  sockets: prom.Gauge;
  turns: prom.Counter<"outcome">;
  firstDelta: prom.Histogram;
  done: prom.Histogram;
}

/**
 * One socket's hooks. A class, and its map made on the first turn, because every open socket has
 * one: an object of closures cost each idle socket half a kilobyte.
 */
class SocketMetrics implements ConnectionMetrics {
  #running: Map<string, { acked: number; firstDelta?: number }> | null = null;
  #open = false;

  constructor(private readonly m: TurnInstruments, private readonly log: Logger) {}

  opened(): void {
    if (!this.#open) this.m.sockets.inc();
    this.#open = true;
  }

  closed(): void {
    if (this.#open) this.m.sockets.dec();
    this.#open = false;
    this.#running = null;
  }

  acked(turn: string): void {
    (this.#running ??= new Map()).set(turn, { acked: performance.now() });
  }

  delivered(entry: { type: string; id: string; stopped?: string; code?: string }): void {
    const turn = this.#running?.get(entry.id);
    if (!turn) return;
    const seconds = (performance.now() - turn.acked) / 1000;
    if (entry.type === "delta") {
      if (turn.firstDelta === undefined) {
        turn.firstDelta = seconds;
        this.m.firstDelta.observe(seconds);
      }
      return;
    }
    // Other events of the turn (its `user` echo) neither start nor end it.
    if (entry.type !== "done" && entry.type !== "error") return;
    this.#running!.delete(entry.id);
    const outcome = entry.type === "done"
      ? (entry.stopped === "1" ? "stopped" : "done")
      : (entry.code || "error");
    this.m.turns.inc({ outcome });
    this.m.done.observe(seconds);
    this.log.info("turn done", {
      turn: entry.id,
      outcome,
      ms: Math.round(seconds * 1000),
      first_delta_ms: turn.firstDelta === undefined
        ? undefined
        : Math.round(turn.firstDelta * 1000),
    });
  }

  refused(code: string): void {
    if (REFUSALS.has(code)) this.m.turns.inc({ outcome: code });
  }
}

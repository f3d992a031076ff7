// A Redis pub/sub subscription over Upstash's REST API (`POST /subscribe/<channel>`, answered as
// server-sent events) that stays up. @upstash/redis's subscribe() speaks the same protocol but
// never tells its caller that the stream ended, and a subscription that silently died would turn
// every push into a wait for the fallback read; this one reconnects with backoff and calls
// `ready` on every (re)subscribe, so callers catch up on what a gap may have swallowed.
import { byteChunks } from "../byte_chunks.ts";
import type { RedisEndpoint } from "./client.ts";
import { type Handoff, parseHandoff, workerChannel } from "./handoff.ts";

export interface SubscriptionHandlers {
  message(payload: string): void;
  /** Subscribed (again): anything published while we were away must be read back. */
  ready(): void;
  error?(err: unknown): void;
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10_000;

export class Subscription {
  #abort: AbortController | null = null;
  #closed = false;
  #attempt = 0;
  #lastSeen = Date.now();

  constructor(
    private readonly endpoint: RedisEndpoint,
    readonly channel: string,
    private readonly handlers: SubscriptionHandlers,
    /** No event at all (not even our own heartbeat) for this long: the stream is dead. */
    private readonly silenceMs = 75_000,
  ) {}

  start(): void {
    this.#loop();
  }

  /** Milliseconds since the stream last said anything. */
  get silentFor(): number {
    return Date.now() - this.#lastSeen;
  }

  close(): void {
    this.#closed = true;
    this.#abort?.abort();
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      try {
        await this.#listen();
      } catch (err) {
        if (!this.#closed) this.handlers.error?.(err);
      }
      if (this.#closed) return;
      const wait = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.#attempt++);
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random() / 2)));
    }
  }

  async #listen(): Promise<void> {
    this.#abort = new AbortController();
    const watchdog = setInterval(() => {
      if (this.silentFor > this.silenceMs) this.#abort?.abort();
    }, Math.min(this.silenceMs, 5000));
    try {
      const res = await fetch(`${this.endpoint.url}/subscribe/${this.channel}`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.endpoint.token}`, accept: "text/event-stream" },
        signal: this.#abort.signal,
      });
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        throw new Error(`subscribe answered ${res.status}`);
      }
      this.#lastSeen = Date.now();
      const decoder = new TextDecoder();
      let buffer = "";
      // One read per hint under load: read into one reused buffer (see byteChunks).
      for await (const chunk of byteChunks(res.body)) {
        this.#lastSeen = Date.now();
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, end).replace(/\r$/, "");
          buffer = buffer.slice(end + 1);
          if (line.startsWith("data:")) this.#event(line.slice(line.startsWith("data: ") ? 6 : 5));
        }
      }
    } finally {
      clearInterval(watchdog);
    }
  }

  /** `subscribe,<channel>,<count>` or `message,<channel>,<payload>`. */
  #event(data: string): void {
    const first = data.indexOf(",");
    const second = data.indexOf(",", first + 1);
    if (first < 0 || second < 0) return;
    const type = data.slice(0, first);
    if (type === "subscribe") {
      this.#attempt = 0;
      this.handlers.ready();
    } else if (type === "message") {
      this.handlers.message(data.slice(second + 1));
    }
  }
}

/** What a worker hears on its own channel. */
export interface HandoffHandlers {
  /** A turn handed to this worker as it was queued. */
  handed(handoff: Handoff): void;
  /** Subscribed (again): hand-offs published meanwhile reached nobody. */
  ready(): void;
}

/** A worker's own channel (handoff.ts) as a source of hand-offs; its heartbeats are ignored. */
export function handoffSubscription(endpoint: RedisEndpoint) {
  let subscription: Subscription | null = null;
  return {
    start(consumer: string, handlers: HandoffHandlers): void {
      subscription = new Subscription(endpoint, workerChannel(consumer), {
        message: (payload) => {
          const handoff = parseHandoff(payload);
          if (handoff) handlers.handed(handoff);
        },
        ready: () => handlers.ready(),
      });
      subscription.start();
    },
    close(): void {
      subscription?.close();
    },
  };
}

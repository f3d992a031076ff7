// Upstash's pub/sub over server-sent events for the REST bridge: POST|GET /subscribe/<channel> and
// /psubscribe/<pattern>, each on its own Redis connection, in the line format @upstash/redis 1.39
// parses (`data: message,<channel>,<payload>` and `data: pmessage,<pattern>,<channel>,<payload>`).
import { encodeCommands, RespError, RespParser, type RespValue } from "./resp_codec.ts";

export type SubscribeKind = "subscribe" | "psubscribe";

export interface SubscriptionTarget {
  port: number;
  password?: string;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();
// Comments keep idle connections from being cut by proxies, and make a vanished client show up
// as a failed write on quiet channels.
const HEARTBEAT_MS = 15_000;
// A client that stops reading must not make the bridge buffer without bound.
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
const READY_TIMEOUT_MS = 10_000;

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
};

const text = (v: RespValue): string =>
  v instanceof Uint8Array ? utf8Decoder.decode(v) : typeof v === "string" ? v : String(v);

/**
 * One SSE event. Payloads go out as they are, whatever Upstash-Encoding says: @upstash/redis sends
 * that header on subscribe requests too, never base64-decodes the stream, and its own tests against
 * Upstash expect plain messages. A payload's line breaks become further `data:` lines, as the SSE
 * format requires (the SDK reads only the first; JSON payloads never contain one).
 */
function sseEvent(fields: string[]): string {
  return `data: ${fields.join(",").split(/\r\n|\r|\n/).join("\ndata: ")}\n\n`;
}

/** Channel names from the path segments after /subscribe (Upstash REST: one argument each). */
export function pathTargets(segments: string[]): string[] {
  return segments.filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s; // a literal `%` the client did not escape
    }
  });
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Live subscriptions, so the bridge can end them when it closes. */
export class Subscriptions {
  #live = new Set<() => void>();

  closeAll(): void {
    for (const end of [...this.#live]) end();
  }

  /**
   * Subscribes on a new Redis connection and answers once Redis confirmed every channel, so a
   * PUBLISH sent after the response started reaches this client. Throws if Redis cannot be reached.
   */
  async open(
    target: SubscriptionTarget,
    kind: SubscribeKind,
    channels: string[],
    /** Settles when the response was delivered or the client went away (ServeHandlerInfo). */
    finished: Promise<void>,
  ): Promise<Response> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: target.port });
    conn.setNoDelay(true);
    const parser = new RespParser();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let ended = false;
    let heartbeat: ReturnType<typeof setInterval> | undefined;
    let confirmed = 0;
    let authPending = target.password !== undefined;
    let settle!: { resolve(): void; reject(err: Error): void };
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled

    const end = () => {
      if (ended) return;
      ended = true;
      this.#live.delete(end);
      clearInterval(heartbeat);
      try {
        conn.close();
      } catch {
        // already closed by redis
      }
      try {
        controller.close();
      } catch {
        // cancelled by the client
      }
      settle.reject(new Error("the subscription ended before redis confirmed it"));
    };
    const send = (chunk: Uint8Array) => {
      if (ended) return;
      controller.enqueue(chunk);
      if ((controller.desiredSize ?? 0) < -MAX_QUEUED_BYTES) end();
    };
    // Messages that arrive in one read go out as one chunk: a burst of hand-offs or hints costs
    // the bridge one write, and the subscriber one read, instead of one per message.
    let pending = "";
    const flush = () => {
      if (!pending) return;
      const out = pending;
      pending = "";
      send(utf8.encode(out));
    };
    const onReply = (v: RespValue) => {
      if (authPending) {
        authPending = false;
        if (v instanceof RespError) settle.reject(new Error(`redis AUTH failed: ${v.message}`));
        return;
      }
      if (v instanceof RespError) return settle.reject(new Error(v.message));
      if (!Array.isArray(v) || v.length < 3) return;
      const type = text(v[0]);
      pending += sseEvent(v.map(text));
      if (type === kind && ++confirmed === channels.length) settle.resolve();
    };

    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: end,
    }, new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }));
    this.#live.add(end);
    finished.then(end, end);

    (async () => {
      const chunk = new Uint8Array(64 * 1024);
      try {
        for (;;) {
          const n = await conn.read(chunk);
          if (n === null) break;
          parser.push(chunk.subarray(0, n), onReply);
          flush();
        }
      } catch (err) {
        settle.reject(asError(err));
      }
      end();
    })();

    const auth: string[][] = target.password === undefined ? [] : [["AUTH", target.password]];
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await conn.write(encodeCommands([...auth, [kind.toUpperCase(), ...channels]]));
      await Promise.race([
        ready,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("redis did not confirm")), READY_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      end();
      throw asError(err);
    } finally {
      clearTimeout(timer);
    }
    if (!ended) heartbeat = setInterval(() => send(utf8.encode(": keep-alive\n\n")), HEARTBEAT_MS);
    return new Response(body, { headers: SSE_HEADERS });
  }
}

// One poller per web server relays every session's reply stream to the sockets it holds: a
// single multi-key XREAD per poll, fast while a reply is expected, slow (≤ 2/s) when idle, and
// nothing at all when no socket is open. Whichever server holds the socket reads the stream, so
// replies reach the right socket with any number of web servers and workers.
import { AdaptiveDelay, Waker } from "../backoff.ts";
import { log } from "../log.ts";
import type { Redis } from "../redis/client.ts";
import { compareStreamIds } from "../contract/stream_ids.ts";
import { fields, type RawEntry } from "../redis/stream_entries.ts";

export interface ReplyListener {
  /** The session's reply stream key. */
  readonly key: string;
  /** The last event id this listener has handled. */
  cursor: string;
  /** True while a reply is expected, which keeps polling fast. */
  expecting(): boolean;
  deliver(event: string, fields: Record<string, string>): void;
  /** Redis refused to read from `cursor`: the listener moves it back to a position it trusts. */
  cursorFailed(): void;
}

const KEYS_PER_READ = 500;
const EXPECTING_MAX_MS = 100;
const IDLE_MAX_MS = 1000;

export class ReplyRelay {
  #listeners = new Set<ReplyListener>();
  #waker = new Waker();
  #delay: AdaptiveDelay;
  #running = false;
  #closed = false;

  constructor(private redis: Redis, minDelayMs = 5) {
    this.#delay = new AdaptiveDelay(minDelayMs, IDLE_MAX_MS, 300, 20);
  }

  add(listener: ReplyListener): void {
    this.#listeners.add(listener);
    if (!this.#running) this.#loop();
    else this.#waker.wake();
  }

  remove(listener: ReplyListener): void {
    this.#listeners.delete(listener);
  }

  /** Poll now and keep polling fast: a turn was queued or a client asked to resume. */
  wake(): void {
    this.#delay.hit();
    this.#waker.wake();
  }

  close(): void {
    this.#closed = true;
    this.#waker.wake();
  }

  async #loop(): Promise<void> {
    this.#running = true;
    try {
      while (this.#listeners.size && !this.#closed) {
        let got = false;
        try {
          got = await this.#pollOnce();
        } catch (err) {
          log.error("relay: polling replies failed", { error: String(err) });
        }
        if (got) {
          this.#delay.hit();
          continue;
        }
        const expecting = [...this.#listeners].some((l) => l.expecting());
        await this.#waker.sleep(this.#delay.miss(expecting ? EXPECTING_MAX_MS : IDLE_MAX_MS));
      }
    } finally {
      this.#running = false;
    }
  }

  async #pollOnce(): Promise<boolean> {
    const byKey = new Map<string, ReplyListener[]>();
    for (const l of this.#listeners) {
      const list = byKey.get(l.key);
      if (list) list.push(l);
      else byKey.set(l.key, [l]);
    }
    const keys = [...byKey.keys()];
    let got = false;
    for (let i = 0; i < keys.length; i += KEYS_PER_READ) {
      const chunk = keys.slice(i, i + KEYS_PER_READ);
      const ids = chunk.map((k) =>
        byKey.get(k)!.map((l) => l.cursor).reduce((a, b) => compareStreamIds(a, b) <= 0 ? a : b)
      );
      const raw = await this.#read(chunk, ids, byKey);
      for (const [key, entries] of raw) {
        if (!entries.length) continue;
        got = true;
        for (const listener of byKey.get(key) ?? []) {
          for (const [id, raw] of entries) {
            if (!this.#listeners.has(listener)) break;
            if (compareStreamIds(id, listener.cursor) <= 0) continue;
            listener.cursor = id;
            listener.deliver(id, fields(raw));
          }
        }
      }
    }
    return got;
  }

  /**
   * One XREAD for many sockets. Should Redis refuse it (an id it cannot parse), each key is read
   * on its own and only the listeners of a key that still fails are told to move their cursor,
   * so one socket can never stall the replies of the others.
   */
  async #read(
    keys: string[],
    ids: string[],
    byKey: Map<string, ReplyListener[]>,
  ): Promise<[string, RawEntry[]][]> {
    type Reply = [string, RawEntry[]][] | null;
    try {
      return (await this.redis.xread(keys, ids, { count: 200 }) as unknown as Reply) ?? [];
    } catch (err) {
      if (keys.length === 1 && !/stream id/i.test(String(err))) throw err;
      const out: [string, RawEntry[]][] = [];
      for (let i = 0; i < keys.length; i++) {
        try {
          const raw = await this.redis.xread(keys[i], ids[i], { count: 200 }) as unknown as Reply;
          out.push(...(raw ?? []));
        } catch (keyErr) {
          if (!/stream id/i.test(String(keyErr))) throw keyErr;
          for (const listener of byKey.get(keys[i]) ?? []) listener.cursorFailed();
        }
      }
      return out;
    }
  }
}

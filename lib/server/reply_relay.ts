// Relays every session's reply stream to the sockets this web server holds. Events are pushed:
// the scripts that write a reply stream publish a hint to each web server holding a socket of that
// session (one subscription per server, never one per socket), carrying the event itself when it
// fits. The stream stays the source of truth: a hint lost while the subscription reconnects costs
// latency, never an event, because every (re)subscribe, every new socket and a slow fallback
// timer read the streams back from each socket's cursor.
import { compareStreamIds } from "../contract/stream_ids.ts";
import { log } from "../log.ts";
import type { Redis, RedisEndpoint } from "../redis/client.ts";
import { parseHint, type ReplyHint, serverChannel, streamHintId } from "../redis/reply_hint.ts";
import { HOLD_SESSION } from "../redis/holder_script.ts";
import { ScriptRunner } from "../redis/script_runner.ts";
import { fields, type RawEntry } from "../redis/stream_entries.ts";
import { Subscription } from "../redis/subscription.ts";
import { Bursts } from "./bursts.ts";

export interface ReplyListener {
  /** The session's reply stream key. */
  readonly key: string;
  /** The session's hash and turns hash: this server registers as a holder of its sockets. */
  readonly sessionKey: string;
  readonly turnsKey: string;
  /** The last event id this listener has handled. */
  cursor: string;
  /** True while a reply is expected: the fallback read then runs often. */
  expecting(): boolean;
  deliver(event: string, fields: Record<string, string>): void;
  /** Redis refused to read from `cursor`: the listener moves it back to a position it trusts. */
  cursorFailed(): void;
}

export interface RelayOptions {
  /** Fallback read while a reply is expected / otherwise (only while sockets are open). */
  expectingFallbackMs?: number;
  idleFallbackMs?: number;
  /** Publish to our own channel this often so a silently dead subscription is noticed. */
  heartbeatMs?: number;
}

const KEYS_PER_READ = 500;
const READ_COUNT = 1000;

export class ReplyRelay {
  readonly serverId = crypto.randomUUID();
  readonly #byKey = new Map<string, Set<ReplyListener>>();
  /** Hint id (the SHA-1 of a stream key) → stream key, and back, for the streams held now. */
  readonly #byHint = new Map<string, string>();
  readonly #hintOf = new Map<string, string>();
  #subscription: Subscription | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastHeartbeat = 0;
  /** Hints that arrived while a read-back was in flight, applied after it (never before it). */
  #held: ReplyHint[] | null = null;
  #reading = Promise.resolve();
  /** The read-back waiting for the one in flight: later read-backs add their keys to it. */
  #nextRead: { keys: Set<string> } | null = null;
  readonly #holds = new Bursts();
  #closed = false;
  readonly #opts: Required<RelayOptions>;
  readonly #scripts: ScriptRunner;

  constructor(
    private readonly redis: Redis,
    private readonly endpoint: RedisEndpoint | null,
    opts: RelayOptions = {},
  ) {
    this.#scripts = new ScriptRunner(redis);
    this.#opts = {
      expectingFallbackMs: opts.expectingFallbackMs ?? 2000,
      idleFallbackMs: opts.idleFallbackMs ?? 30_000,
      heartbeatMs: opts.heartbeatMs ?? 30_000,
    };
  }

  /**
   * Follows the listener's stream and registers this server as a holder of its session. Resolves
   * with the session's turns in progress (the registering script reads them), which a socket that
   * just opened must watch.
   */
  async add(listener: ReplyListener): Promise<string[]> {
    if (!this.#byKey.has(listener.key)) this.#byKey.set(listener.key, new Set());
    this.#byKey.get(listener.key)!.add(listener);
    // Queued before anything is awaited, so a release for this socket can only come after it.
    const held = this.#holds.run(() =>
      this.#scripts.runDetailed(HOLD_SESSION, [listener.sessionKey, listener.turnsKey], [
        this.serverId,
        "add",
      ])
    );
    held.catch(() => {}); // handled below, once the hint id is known
    const hint = this.#hintOf.get(listener.key) ?? await streamHintId(listener.key);
    if (this.#byKey.has(listener.key)) {
      this.#byHint.set(hint, listener.key);
      this.#hintOf.set(listener.key, hint);
    }
    this.#ensureRunning();
    let running: string[] = [];
    try {
      const { detail } = await held;
      running = detail ? detail.split(" ") : [];
    } catch (err) {
      log.warn("relay: registering a socket failed", { error: String(err) });
    }
    // Whatever was written between the socket's first cursor and the registration.
    await this.readBack([listener.key]);
    return running;
  }

  /** Streams this server follows now (each with its hint id): none once their sockets closed. */
  get streams(): number {
    return Math.max(this.#byKey.size, this.#byHint.size, this.#hintOf.size);
  }

  remove(listener: ReplyListener): void {
    const set = this.#byKey.get(listener.key);
    if (!set?.delete(listener) || set.size) return;
    this.#byKey.delete(listener.key);
    this.#byHint.delete(this.#hintOf.get(listener.key) ?? "");
    this.#hintOf.delete(listener.key);
    this.#release(listener).catch(() => {});
    if (!this.#byKey.size) this.#stop();
  }

  /** Reads back now: the keys given (a resume, an ended turn), or every key. */
  wake(keys?: string[]): void {
    this.readBack(keys ?? [...this.#byKey.keys()]);
  }

  close(): void {
    this.#closed = true;
    this.#stop();
    for (const [key, set] of this.#byKey) {
      const listener = [...set][0];
      if (listener) this.#release(listener).catch(() => {});
      this.#byKey.delete(key);
    }
  }

  /** Letting go goes through the same bursts as registering, so it never overtakes one. */
  #release(listener: ReplyListener) {
    return this.#holds.run(() =>
      this.#scripts.run(HOLD_SESSION, [listener.sessionKey, listener.turnsKey], [
        this.serverId,
        "remove",
      ])
    );
  }

  /** Reads the given streams from their listeners' cursors, holding hints until it is done. */
  readBack(keys: string[]): Promise<void> {
    this.#held ??= [];
    const next = this.#nextRead;
    if (next) {
      // Sockets opening together share one XREAD.
      for (const key of keys) next.keys.add(key);
      return this.#reading;
    }
    const batch = { keys: new Set(keys) };
    this.#nextRead = batch;
    const run = this.#reading.then(() => {
      if (this.#nextRead === batch) this.#nextRead = null;
      return this.#read([...batch.keys]);
    }).catch((err) => log.error("relay: reading replies failed", { error: String(err) })).finally(
      () => {
        if (this.#reading !== run) return;
        const held = this.#held ?? [];
        this.#held = null;
        for (const hint of held) this.#apply(hint);
      },
    );
    this.#reading = run;
    return run;
  }

  #ensureRunning(): void {
    if (this.#closed) return;
    if (this.endpoint && !this.#subscription) {
      this.#subscription = new Subscription(this.endpoint, serverChannel(this.serverId), {
        message: (payload) => this.#onHint(payload),
        ready: () => this.wake(),
        error: (err) => log.warn("relay: subscription failed", { error: String(err) }),
      }, this.#opts.heartbeatMs * 2.5);
      this.#subscription.start();
    }
    if (this.#timer === undefined) this.#schedule();
  }

  #stop(): void {
    this.#subscription?.close();
    this.#subscription = null;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    const expecting = [...this.#byKey.values()].some((s) => [...s].some((l) => l.expecting()));
    const ms = expecting || !this.endpoint
      ? this.#opts.expectingFallbackMs
      : this.#opts.idleFallbackMs;
    this.#timer = setTimeout(() => this.#tick(), ms);
  }

  async #tick(): Promise<void> {
    if (this.#closed || !this.#byKey.size) return void (this.#timer = undefined);
    if (this.endpoint && Date.now() - this.#lastHeartbeat >= this.#opts.heartbeatMs) {
      this.#lastHeartbeat = Date.now();
      await this.redis.publish(serverChannel(this.serverId), "hb").catch(() => {});
    }
    await this.readBack([...this.#byKey.keys()]);
    if (!this.#closed && this.#byKey.size) this.#schedule();
    else this.#timer = undefined;
  }

  #onHint(payload: string): void {
    if (payload === "hb") return;
    const hint = parseHint(payload);
    if (!hint) return;
    if (this.#held) this.#held.push(hint);
    else this.#apply(hint);
  }

  #apply(hint: ReplyHint): void {
    const key = this.#byHint.get(hint.stream);
    const listeners = key ? this.#byKey.get(key) : undefined;
    if (!key || !listeners) return;
    if (!hint.fields) return void this.readBack([key]);
    for (const listener of listeners) {
      if (compareStreamIds(hint.event, listener.cursor) <= 0) continue;
      listener.cursor = hint.event;
      listener.deliver(hint.event, hint.fields);
    }
  }

  async #read(keys: string[]): Promise<void> {
    let live = keys.filter((k) => this.#byKey.has(k));
    // A stream with more than one read's worth after the cursor is read again until drained.
    while (live.length) {
      const full: string[] = [];
      await this.#readOnce(live, full);
      live = full.filter((k) => this.#byKey.has(k));
    }
  }

  async #readOnce(live: string[], full: string[]): Promise<void> {
    for (let i = 0; i < live.length; i += KEYS_PER_READ) {
      const chunk = live.slice(i, i + KEYS_PER_READ);
      const ids = chunk.map((k) =>
        [...this.#byKey.get(k)!].map((l) => l.cursor).reduce((a, b) =>
          compareStreamIds(a, b) <= 0 ? a : b
        )
      );
      for (const [key, entries] of await this.#xread(chunk, ids)) {
        if (entries.length >= READ_COUNT) full.push(key);
        for (const listener of this.#byKey.get(key) ?? []) {
          for (const [id, raw] of entries) {
            if (compareStreamIds(id, listener.cursor) <= 0) continue;
            listener.cursor = id;
            listener.deliver(id, fields(raw));
          }
        }
      }
    }
  }

  /**
   * One XREAD for many sockets. Should Redis refuse it (an id it cannot parse), each key is read
   * on its own and only the listeners of a key that still fails are told to move their cursor,
   * so one socket can never stall the replies of the others.
   */
  async #xread(keys: string[], ids: string[]): Promise<[string, RawEntry[]][]> {
    type Reply = [string, RawEntry[]][] | null;
    try {
      return (await this.redis.xread(keys, ids, { count: READ_COUNT }) as unknown as Reply) ?? [];
    } catch (err) {
      if (!/stream id/i.test(String(err))) throw err;
      const out: [string, RawEntry[]][] = [];
      for (let i = 0; i < keys.length; i++) {
        try {
          const raw = await this.redis.xread(keys[i], ids[i], {
            count: READ_COUNT,
          }) as unknown as Reply;
          out.push(...(raw ?? []));
        } catch (keyErr) {
          if (!/stream id/i.test(String(keyErr))) throw keyErr;
          for (const listener of this.#byKey.get(keys[i]) ?? []) listener.cursorFailed();
        }
      }
      return out;
    }
  }
}

// A small RESP2 client for the local Redis bridge: a pipelining connection (with AUTH when the
// server has a password) and a connection pool. Dev/test tooling only.
import { encodeCommands, RespError, RespParser, type RespValue } from "./resp_codec.ts";

export { encodeCommands, RespError, RespParser, type RespValue };

export interface RespConnectOptions {
  hostname?: string;
  /** Sent with AUTH before anything else; omit for a server without `requirepass`. */
  password?: string;
}

interface Pending {
  count: number;
  replies: RespValue[];
  resolve(replies: RespValue[]): void;
  reject(err: Error): void;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * One TCP connection to redis-server. `send` writes a batch of commands contiguously (batches of
 * concurrent callers never interleave) and pipelines: replies are matched to batches in FIFO order.
 */
export class RespConnection {
  #conn: Deno.TcpConn;
  #parser = new RespParser();
  #queue: Pending[] = [];
  #out: Uint8Array[] = [];
  #flushing: Promise<void> | null = null;
  #reading: Promise<void>;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#reading = this.#readLoop();
  }

  static async connect(port: number, opts: RespConnectOptions = {}): Promise<RespConnection> {
    const conn = await Deno.connect({ hostname: opts.hostname ?? "127.0.0.1", port });
    conn.setNoDelay(true);
    const resp = new RespConnection(conn);
    if (opts.password !== undefined) {
      const [reply] = await resp.send([["AUTH", opts.password]]).catch(async (err) => {
        await resp.close();
        throw err;
      });
      if (reply instanceof RespError) {
        await resp.close();
        throw new Error(`redis AUTH failed: ${reply.message}`);
      }
    }
    return resp;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Batches queued and not yet answered. */
  get pending(): number {
    return this.#queue.length;
  }

  send(commands: readonly (readonly string[])[]): Promise<RespValue[]> {
    if (this.#closed) return Promise.reject(new Error("redis connection is closed"));
    if (commands.length === 0) return Promise.resolve([]);
    const bytes = encodeCommands(commands);
    return new Promise((resolve, reject) => {
      this.#queue.push({ count: commands.length, replies: [], resolve, reject });
      this.#out.push(bytes);
      this.#flushing ??= this.#flush();
    });
  }

  async close(): Promise<void> {
    this.#fail(new Error("redis connection closed"));
    await this.#reading;
    await this.#flushing;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#out.length > 0 && !this.#closed) {
        const batch = this.#out;
        this.#out = [];
        await writeAll(this.#conn, batch.length === 1 ? batch[0] : encodeJoin(batch));
      }
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#flushing = null;
    }
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    let reason: Error = new Error("redis closed the connection");
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        this.#parser.push(chunk.subarray(0, n), (reply) => this.#onReply(reply));
      }
    } catch (err) {
      reason = err instanceof Error ? err : new Error(String(err));
    }
    this.#fail(reason);
  }

  #onReply(reply: RespValue): void {
    const head = this.#queue[0];
    if (!head) throw new Error("RESP protocol error: reply without a request");
    head.replies.push(reply);
    if (head.replies.length === head.count) {
      this.#queue.shift();
      head.resolve(head.replies);
    }
  }

  #fail(err: Error): void {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch {
        // already closed by the peer
      }
    }
    const queue = this.#queue;
    this.#queue = [];
    this.#out = [];
    for (const p of queue) p.reject(err);
  }
}

function encodeJoin(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A few shared pipelining connections plus exclusive ones for transactions. Dead connections
 * (redis restarted) are replaced on next use.
 */
export class RespPool {
  #port: number;
  #password: string | undefined;
  #slots: (RespConnection | Promise<RespConnection> | null)[];
  #idle: RespConnection[] = [];
  #all = new Set<RespConnection>();
  #connecting = new Set<Promise<unknown>>();
  #closed = false;

  constructor(opts: { port: number; password?: string; size?: number }) {
    this.#port = opts.port;
    this.#password = opts.password;
    this.#slots = new Array(opts.size ?? 4).fill(null);
  }

  /** Runs a batch on a shared connection; replies come back one per command. */
  async exec(commands: readonly (readonly string[])[]): Promise<RespValue[]> {
    return (await this.#shared()).send(commands);
  }

  /** Runs `fn` on a connection nobody else uses meanwhile (MULTI/EXEC). */
  async exclusive<T>(fn: (conn: RespConnection) => Promise<T>): Promise<T> {
    let conn = this.#idle.pop();
    while (conn?.closed) {
      this.#all.delete(conn);
      conn = this.#idle.pop();
    }
    conn ??= await this.#connect();
    try {
      return await fn(conn);
    } finally {
      if (!conn.closed && !this.#closed && conn.pending === 0 && this.#idle.length < 4) {
        this.#idle.push(conn);
      } else {
        this.#all.delete(conn);
        await conn.close();
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#connecting]);
    const all = [...this.#all];
    this.#all.clear();
    this.#idle = [];
    this.#slots.fill(null);
    await Promise.all(all.map((c) => c.close()));
  }

  async #shared(): Promise<RespConnection> {
    let best: RespConnection | null = null;
    let emptySlot = -1;
    let connecting: Promise<RespConnection> | null = null;
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[i];
      if (slot instanceof RespConnection && !slot.closed) {
        if (!best || slot.pending < best.pending) best = slot;
      } else if (slot instanceof Promise) {
        connecting ??= slot;
      } else if (emptySlot < 0) {
        if (slot) this.#all.delete(slot);
        emptySlot = i;
      }
    }
    if (best && (best.pending === 0 || emptySlot < 0)) return best;
    if (emptySlot >= 0) {
      const i = emptySlot;
      const p = this.#connect();
      this.#slots[i] = p;
      p.then((c) => (this.#slots[i] = c), () => (this.#slots[i] = null));
      return best ?? await p;
    }
    if (best) return best;
    return await connecting!;
  }

  #connect(): Promise<RespConnection> {
    if (this.#closed) return Promise.reject(new Error("redis pool is closed"));
    const p = RespConnection.connect(this.#port, { password: this.#password }).then(
      async (conn) => {
        if (this.#closed) {
          await conn.close();
          throw new Error("redis pool is closed");
        }
        this.#all.add(conn);
        return conn;
      },
    );
    this.#connecting.add(p);
    p.then(() => this.#connecting.delete(p), () => this.#connecting.delete(p));
    return p;
  }
}

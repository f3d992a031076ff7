// A small RESP2 client for the local Redis bridge: command encoding, an incremental reply
// parser, a pipelining connection and a connection pool. Dev/test tooling only.

/** An error reply from Redis (`-ERR ...`); `message` is the line without the leading `-`. */
export class RespError extends Error {
  override name = "RespError";
}

/** Simple strings are JS strings, bulk strings stay bytes, nil is null. */
export type RespValue = string | Uint8Array | number | null | RespError | RespValue[];

const CR = 13;
const LF = 10;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Encodes commands as RESP arrays of bulk strings, back to back in one buffer. */
export function encodeCommands(commands: readonly (readonly string[])[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (bytes: Uint8Array) => {
    parts.push(bytes);
    size += bytes.length;
  };
  const crlf = new Uint8Array([CR, LF]);
  for (const args of commands) {
    push(utf8.encode(`*${args.length}\r\n`));
    for (const arg of args) {
      const bytes = utf8.encode(arg);
      push(utf8.encode(`$${bytes.length}\r\n`));
      push(bytes);
      push(crlf);
    }
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

interface Frame {
  items: RespValue[];
  left: number;
}

/**
 * Incremental RESP2 parser. Feed it whatever the socket returned; it calls `onReply` once per
 * complete top-level reply and keeps partial state (nested arrays, half-read bulk strings)
 * between calls, so each byte is looked at a bounded number of times.
 */
export class RespParser {
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #stack: Frame[] = [];
  #bulkLen = -1;

  push(chunk: Uint8Array, onReply: (value: RespValue) => void): void {
    this.#append(chunk);
    for (;;) {
      let value: RespValue;
      if (this.#bulkLen >= 0) {
        if (this.#end - this.#start < this.#bulkLen + 2) break;
        value = this.#buf.slice(this.#start, this.#start + this.#bulkLen);
        this.#start += this.#bulkLen + 2;
        this.#bulkLen = -1;
      } else {
        const lf = this.#buf.subarray(this.#start, this.#end).indexOf(LF);
        if (lf < 0) break;
        const lineStart = this.#start + 1;
        const lineEnd = this.#start + lf - 1; // drop the CR
        const type = this.#buf[this.#start];
        this.#start += lf + 1;
        if (type === 0x2b /* + */) {
          value = utf8Decoder.decode(this.#buf.subarray(lineStart, lineEnd));
        } else if (type === 0x2d /* - */) {
          value = new RespError(utf8Decoder.decode(this.#buf.subarray(lineStart, lineEnd)));
        } else if (type === 0x3a /* : */) {
          value = this.#int(lineStart, lineEnd);
        } else if (type === 0x24 /* $ */) {
          const n = this.#int(lineStart, lineEnd);
          if (n >= 0) {
            this.#bulkLen = n;
            continue;
          }
          value = null;
        } else if (type === 0x2a /* * */) {
          const n = this.#int(lineStart, lineEnd);
          if (n > 0) {
            this.#stack.push({ items: [], left: n });
            continue;
          }
          value = n === 0 ? [] : null;
        } else {
          throw new Error(`RESP protocol error: unexpected type byte ${type}`);
        }
      }
      // Fold the finished value into the arrays it closes.
      let done = true;
      while (this.#stack.length > 0) {
        const top = this.#stack[this.#stack.length - 1];
        top.items.push(value);
        if (--top.left > 0) {
          done = false;
          break;
        }
        this.#stack.pop();
        value = top.items;
      }
      if (done) onReply(value);
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  #int(from: number, to: number): number {
    let i = from;
    let sign = 1;
    if (this.#buf[i] === 0x2d) {
      sign = -1;
      i++;
    }
    let n = 0;
    for (; i < to; i++) {
      const d = this.#buf[i] - 0x30;
      if (d < 0 || d > 9) throw new Error("RESP protocol error: bad integer");
      n = n * 10 + d;
    }
    return sign * n;
  }

  #append(chunk: Uint8Array): void {
    const need = this.#end - this.#start + chunk.length;
    if (this.#end + chunk.length > this.#buf.length) {
      if (need <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.max(need, this.#buf.length * 2));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      this.#end -= this.#start;
      this.#start = 0;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }
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

  static async connect(port: number, hostname = "127.0.0.1"): Promise<RespConnection> {
    const conn = await Deno.connect({ hostname, port, transport: "tcp" });
    conn.setNoDelay(true);
    return new RespConnection(conn);
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
  #slots: (RespConnection | Promise<RespConnection> | null)[];
  #idle: RespConnection[] = [];
  #all = new Set<RespConnection>();
  #connecting = new Set<Promise<unknown>>();
  #closed = false;

  constructor(opts: { port: number; size?: number }) {
    this.#port = opts.port;
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
    const p = RespConnection.connect(this.#port).then(async (conn) => {
      if (this.#closed) {
        await conn.close();
        throw new Error("redis pool is closed");
      }
      this.#all.add(conn);
      return conn;
    });
    this.#connecting.add(p);
    p.then(() => this.#connecting.delete(p), () => this.#connecting.delete(p));
    return p;
  }
}

// RESP2 wire format for the local Redis tools: command encoding and an incremental reply parser
// that keeps 64-bit integers exact. Dev/test tooling only. Not node-redis (6.4): it rounds integers
// past 2^53 unless told to map them to strings, and no mapping of its then keeps integer, status
// and bulk replies apart, which the bridge needs to answer as Upstash does.

/** An error reply from Redis (`-ERR ...`); `message` is the line without the leading `-`. */
export class RespError extends Error {
  override name = "RespError";
}

/**
 * Simple strings are JS strings, bulk strings stay bytes, nil is null. Integers beyond 2^53 (INCR
 * past 9007199254740992, Lua numbers) are bigints, so nothing rounds them on the way through.
 */
export type RespValue = string | Uint8Array | number | bigint | null | RespError | RespValue[];

const LF = 10;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * Encodes commands as RESP arrays of bulk strings, back to back in one buffer. Built as one string
 * and encoded once: an encode per argument (three per argument with its header) was the largest
 * share of the bridge's CPU under load.
 */
export function encodeCommands(commands: readonly (readonly string[])[]): Uint8Array {
  let out = "";
  for (const args of commands) {
    out += `*${args.length}\r\n`;
    for (const arg of args) out += `$${utf8Length(arg)}\r\n${arg}\r\n`;
  }
  return utf8.encode(out);
}

const NON_ASCII = /[\u0080-\uffff]/;

/** The length of `s` as UTF-8, as TextEncoder writes it (a lone surrogate becomes U+FFFD). */
function utf8Length(s: string): number {
  if (!NON_ASCII.test(s)) return s.length;
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c <= 0xdbff && c >= 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: two code units, four bytes
      i++;
    } else n += 2;
  }
  return n;
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
          value = this.#integer(lineStart, lineEnd);
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

  #integer(from: number, to: number): number | bigint {
    // Up to 15 digits always fit a double exactly; longer ones may not.
    if (to - from <= 15) return this.#int(from, to);
    let text = "";
    for (let i = from; i < to; i++) text += String.fromCharCode(this.#buf[i]);
    if (!/^-?\d+$/.test(text)) throw new Error("RESP protocol error: bad integer");
    const big = BigInt(text);
    return Number.isSafeInteger(Number(big)) ? Number(big) : big;
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

// What the REST bridge lets through to Redis and how it answers: the command allow-list, the script
// flag Redis 7.0 lacks, and the JSON (optionally base64) shape of replies.
import { RespError, type RespValue } from "./resp.ts";
import { sha1Hex } from "../lib/redis/sha1.ts";

export type Command = string[];

/** A command ready for Redis, plus how to adjust its reply before the client sees it. */
export interface Prepared {
  args: Command;
  reply?: (value: RespValue) => RespValue;
}

// The bridge token must not be Redis admin: only data commands pass, i.e. what the app,
// @upstash/ratelimit and @upstash/redis send, and their harmless relatives. Anything that blocks a
// shared connection, changes its state (MULTI, SELECT, AUTH), or administers the server is absent.
const ALLOWED = new Set(
  [
    // connection and server, read-only
    "PING ECHO TIME DBSIZE",
    // keys
    "DEL UNLINK EXISTS TYPE TOUCH RENAME RENAMENX EXPIRE PEXPIRE EXPIREAT PEXPIREAT",
    "EXPIRETIME PEXPIRETIME PERSIST TTL PTTL SCAN",
    // strings and counters
    "GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX GETRANGE SETRANGE STRLEN APPEND MGET",
    "MSET MSETNX INCR INCRBY INCRBYFLOAT DECR DECRBY SETBIT GETBIT BITCOUNT BITPOS PFADD",
    "PFCOUNT",
    // hashes
    "HSET HSETNX HMSET HGET HMGET HGETALL HDEL HEXISTS HINCRBY HINCRBYFLOAT HKEYS HVALS",
    "HLEN HSTRLEN HRANDFIELD HSCAN",
    // lists
    "LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LMPOP LRANGE LLEN LINDEX LINSERT LSET LREM LTRIM",
    "LPOS LMOVE RPOPLPUSH",
    // sets
    "SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER SINTERCARD",
    "SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN",
    // sorted sets
    "ZADD ZREM ZINCRBY ZCARD ZCOUNT ZLEXCOUNT ZSCORE ZMSCORE ZRANK ZREVRANK ZRANGE",
    "ZRANGESTORE ZRANGEBYSCORE ZRANGEBYLEX ZREVRANGE ZREVRANGEBYSCORE ZREVRANGEBYLEX",
    "ZPOPMIN ZPOPMAX ZMPOP ZRANDMEMBER ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX",
    "ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZSCAN",
    // streams (the turn queue and the reply streams)
    "XADD XRANGE XREVRANGE XREAD XREADGROUP XACK XAUTOCLAIM XCLAIM XPENDING XGROUP XINFO",
    "XLEN XTRIM XDEL XSETID",
    // pub/sub: publishing only; subscribing has its own SSE endpoints
    "PUBLISH",
    // scripts (createScript and @upstash/ratelimit: EVALSHA, then EVAL on NOSCRIPT)
    "EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT",
  ].join(" ").split(" "),
);

// SCRIPT FLUSH / KILL / DEBUG would let one client disturb everyone's scripts.
const SCRIPT_SUBCOMMANDS = new Set(["LOAD", "EXISTS"]);

/** Turns one JSON command into Redis arguments, or returns why it is refused. */
export function toCommand(raw: unknown): Command | string {
  if (!Array.isArray(raw) || raw.length === 0) {
    return "ERR a command must be a non-empty JSON array";
  }
  const args: Command = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i];
    if (typeof a === "string") args[i] = a;
    else if (typeof a === "number" || typeof a === "boolean") args[i] = String(a);
    else return `ERR argument ${i} must be a string or a number`;
  }
  const name = args[0].toUpperCase();
  if (!ALLOWED.has(name)) return `ERR command ${name} is not allowed`;
  if (name === "SCRIPT") {
    const sub = args[1]?.toUpperCase() ?? "";
    if (!SCRIPT_SUBCOMMANDS.has(sub)) return `ERR command SCRIPT ${sub} is not allowed`.trimEnd();
  }
  if (name === "XREAD" || name === "XREADGROUP") {
    // Options come before STREAMS; after it are key names and ids, which may be anything.
    for (let i = 1; i < args.length; i++) {
      const opt = args[i].toUpperCase();
      if (opt === "STREAMS") break;
      if (opt === "BLOCK") return `ERR ${name} with BLOCK is not supported by the REST bridge`;
    }
  }
  return args;
}

// Upstash accepts the script flag `allow-key-locking` (@upstash/ratelimit sends it); Debian's
// Redis 7.0 rejects it. Strip it, and answer for the original script's sha (EVALSHA, SCRIPT LOAD,
// SCRIPT EXISTS) with the stripped one's, so clients that hash the text themselves still match.
const UNSUPPORTED_FLAGS = new Set(["allow-key-locking"]);
const shaAliases = new Map<string, string>();
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

function stripFlags(script: string): string {
  const m = script.match(/^#!lua([^\n]*)(\n|$)/);
  if (!m) return script;
  const flags = m[1].match(/flags=(\S*)/)?.[1]?.split(",").filter(Boolean) ?? [];
  const kept = flags.filter((f) => !UNSUPPORTED_FLAGS.has(f));
  if (kept.length === flags.length) return script;
  const line = kept.length ? `#!lua flags=${kept.join(",")}` : "#!lua";
  return line + script.slice(m[1].length + 5);
}

/** Records that `original` runs as `stripped`; answers both shas. */
async function alias(original: string, stripped: string): Promise<[string, string]> {
  const [from, to] = await Promise.all([sha1Hex(original), sha1Hex(stripped)]);
  shaAliases.set(from, to);
  return [from, to];
}

const realSha = (sha: string) => shaAliases.get(sha.toLowerCase()) ?? sha;

export async function prepare(cmd: Command): Promise<Prepared> {
  const name = cmd[0].toUpperCase();
  if ((name === "EVAL" || name === "EVAL_RO") && cmd.length > 1) {
    const stripped = stripFlags(cmd[1]);
    if (stripped === cmd[1]) return { args: cmd };
    await alias(cmd[1], stripped);
    return { args: [cmd[0], stripped, ...cmd.slice(2)] };
  }
  if ((name === "EVALSHA" || name === "EVALSHA_RO") && cmd.length > 1) {
    return { args: [cmd[0], realSha(cmd[1]), ...cmd.slice(2)] };
  }
  const sub = cmd[1]?.toUpperCase();
  if (name === "SCRIPT" && sub === "LOAD" && cmd.length === 3) {
    const stripped = stripFlags(cmd[2]);
    if (stripped === cmd[2]) return { args: cmd };
    const [original, loaded] = await alias(cmd[2], stripped);
    const answer = utf8.encode(original);
    return {
      args: [cmd[0], cmd[1], stripped],
      reply: (v) => v instanceof Uint8Array && utf8Decoder.decode(v) === loaded ? answer : v,
    };
  }
  if (name === "SCRIPT" && sub === "EXISTS") {
    return { args: [cmd[0], cmd[1], ...cmd.slice(2).map(realSha)] };
  }
  return { args: cmd };
}

export function prepareAll(cmds: (Command | string)[]): Promise<(Prepared | string)[]> {
  return Promise.all(cmds.map((c) => typeof c === "string" ? c : prepare(c)));
}

// JSON.rawJSON writes a bigint's digits as a JSON number, as Upstash does; the lib types lag.
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** JSON shape of a reply; in base64 mode every string (simple, bulk, nested) is encoded. */
export function render(v: RespValue, b64: boolean): unknown {
  if (v === null || typeof v === "number") return v;
  if (typeof v === "bigint") return rawJSON(v.toString());
  if (v instanceof Uint8Array) return b64 ? v.toBase64() : utf8Decoder.decode(v);
  if (typeof v === "string") return b64 ? utf8.encode(v).toBase64() : v;
  if (v instanceof RespError) return b64 ? utf8.encode(v.message).toBase64() : v.message;
  return v.map((x) => render(x, b64));
}

export function item(v: RespValue, b64: boolean): { result: unknown } | { error: string } {
  return v instanceof RespError ? { error: v.message } : { result: render(v, b64) };
}

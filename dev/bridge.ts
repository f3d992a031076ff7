// A local stand-in for Upstash's REST API in front of a real redis-server, speaking exactly what
// @upstash/redis 1.39.0 sends: POST / (one command), POST /pipeline, POST /multi-exec, bearer
// auth and `Upstash-Encoding: base64`. Dev/test tool: keep it out of the web server's imports.
import { RespError, RespPool, type RespValue } from "./resp.ts";

export interface BridgeOptions {
  redisPort: number;
  token: string;
  /** Default 0: a free port. */
  port?: number;
  /** Loopback only; anything else is refused. */
  hostname?: "127.0.0.1";
}

export interface Bridge {
  /** `http://127.0.0.1:<port>`, the value for UPSTASH_REDIS_REST_URL. */
  url: string;
  token: string;
  /** HTTP requests answered so far (what Upstash would bill), for the idle-cost benchmark. */
  readonly requests: number;
  close(): Promise<void>;
}

type Command = string[];

// Commands that would block a shared connection or change its state for later requests.
const REFUSED = new Set([
  "BLPOP",
  "BRPOP",
  "BLMOVE",
  "BRPOPLPUSH",
  "BLMPOP",
  "BZPOPMIN",
  "BZPOPMAX",
  "BZMPOP",
  "WAIT",
  "WAITAOF",
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUNSUBSCRIBE",
  "SUNSUBSCRIBE",
  "MONITOR",
  "SYNC",
  "PSYNC",
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "SELECT",
  "HELLO",
  "AUTH",
  "RESET",
  "QUIT",
]);

const JSON_HEADERS = { "content-type": "application/json" };
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

/** Turns one JSON command into Redis arguments, or returns why it is refused. */
function toCommand(raw: unknown): Command | string {
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
  if (REFUSED.has(name) || (name === "CLIENT" && args[1]?.toUpperCase() === "REPLY")) {
    return `ERR command '${args[0]}' is not supported by the REST bridge`;
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
// Redis 7.0 rejects it. Strip it, and answer EVALSHA of the original script with the sha of the
// stripped one, so the client's EVALSHA-then-EVAL caching still works.
const UNSUPPORTED_FLAGS = new Set(["allow-key-locking"]);
const shaAliases = new Map<string, string>();

function stripFlags(script: string): string {
  const m = script.match(/^#!lua([^\n]*)(\n|$)/);
  if (!m) return script;
  const flags = m[1].match(/flags=(\S*)/)?.[1]?.split(",").filter(Boolean) ?? [];
  const kept = flags.filter((f) => !UNSUPPORTED_FLAGS.has(f));
  if (kept.length === flags.length) return script;
  const line = kept.length ? `#!lua flags=${kept.join(",")}` : "#!lua";
  return line + script.slice(m[1].length + 5);
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", utf8.encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function adaptScripts(cmd: Command): Promise<Command> {
  const name = cmd[0].toUpperCase();
  if ((name === "EVAL" || name === "EVAL_RO") && cmd.length > 1) {
    const stripped = stripFlags(cmd[1]);
    if (stripped === cmd[1]) return cmd;
    shaAliases.set(await sha1(cmd[1]), await sha1(stripped));
    return [cmd[0], stripped, ...cmd.slice(2)];
  }
  if ((name === "EVALSHA" || name === "EVALSHA_RO") && cmd.length > 1) {
    const alias = shaAliases.get(cmd[1].toLowerCase());
    if (alias) return [cmd[0], alias, ...cmd.slice(2)];
  }
  return cmd;
}

async function adaptAll<T extends Command | string>(cmds: T[]): Promise<T[]> {
  return await Promise.all(
    cmds.map((c) => typeof c === "string" ? c : adaptScripts(c) as Promise<T>),
  );
}

function base64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** JSON shape of a reply; in base64 mode every string (simple, bulk, nested) is encoded. */
function render(v: RespValue, b64: boolean): unknown {
  if (v === null || typeof v === "number") return v;
  if (v instanceof Uint8Array) return b64 ? base64(v) : utf8Decoder.decode(v);
  if (typeof v === "string") return b64 ? base64(utf8.encode(v)) : v;
  if (v instanceof RespError) return b64 ? base64(utf8.encode(v.message)) : v.message;
  return v.map((x) => render(x, b64));
}

function item(v: RespValue, b64: boolean): { result: unknown } | { error: string } {
  return v instanceof RespError ? { error: v.message } : { result: render(v, b64) };
}

function safeEqual(a: string, b: string): boolean {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ (y[i % y.length] ?? 0);
  return diff === 0;
}

function createHandler(pool: RespPool, token: string): (req: Request) => Promise<Response> {
  const expected = `Bearer ${token}`;

  async function single(body: unknown, b64: boolean): Promise<Response> {
    const [cmd] = await adaptAll([toCommand(body)]);
    if (typeof cmd === "string") return json({ error: cmd }, 400);
    const [reply] = await pool.exec([cmd]);
    return reply instanceof RespError
      ? json({ error: reply.message }, 400)
      : json({ result: render(reply, b64) });
  }

  async function pipeline(body: unknown, b64: boolean): Promise<Response> {
    if (!Array.isArray(body) || body.length === 0) {
      return json({ error: "ERR a pipeline must be a non-empty JSON array of commands" }, 400);
    }
    const parsed = await adaptAll(body.map(toCommand));
    const valid = parsed.filter((c): c is Command => typeof c !== "string");
    const replies = await pool.exec(valid);
    let next = 0;
    return json(
      parsed.map((c) => typeof c === "string" ? { error: c } : item(replies[next++], b64)),
    );
  }

  async function multiExec(body: unknown, b64: boolean): Promise<Response> {
    if (!Array.isArray(body) || body.length === 0) {
      return json({ error: "ERR a transaction must be a non-empty JSON array of commands" }, 400);
    }
    const cmds: Command[] = [];
    for (const raw of body) {
      const cmd = toCommand(raw);
      if (typeof cmd === "string") return json({ error: cmd }, 400);
      cmds.push(await adaptScripts(cmd));
    }
    const replies = await pool.exclusive((conn) => conn.send([["MULTI"], ...cmds, ["EXEC"]]));
    const exec = replies[replies.length - 1];
    if (exec instanceof RespError || !Array.isArray(exec)) {
      // Queue-time errors (bad arity, unknown command) abort the whole transaction, as in Redis.
      const cause = replies.slice(1, -1).find((r) => r instanceof RespError);
      const message = exec instanceof RespError ? exec.message : "EXECABORT Transaction aborted";
      return json({ error: cause ? `${message} ${cause.message}` : message }, 400);
    }
    return json(exec.map((r) => item(r, b64)));
  }

  return async (req: Request): Promise<Response> => {
    const auth = req.headers.get("authorization");
    if (auth === null || !safeEqual(auth, expected)) {
      await req.body?.cancel();
      return json({ error: "Unauthorized" }, 401);
    }
    if (req.method !== "POST") {
      await req.body?.cancel();
      return json({ error: "ERR only POST is supported by the REST bridge" }, 405);
    }
    const path = new URL(req.url).pathname.replace(/\/+$/, "") || "/";
    const route = path === "/"
      ? single
      : path === "/pipeline"
      ? pipeline
      : path === "/multi-exec"
      ? multiExec
      : null;
    if (!route) {
      await req.body?.cancel();
      return json({ error: `ERR unknown endpoint ${path}` }, 404);
    }
    let body: unknown;
    try {
      body = JSON.parse(await req.text());
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return json({ error: `ERR failed to parse request body as JSON: ${why}` }, 400);
    }
    const b64 = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    try {
      return await route(body, b64);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return json({ error: `ERR redis unavailable: ${why}` }, 503);
    }
  };
}

export function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const hostname = opts.hostname ?? "127.0.0.1";
  if (hostname !== "127.0.0.1") {
    return Promise.reject(new Error(`the REST bridge listens on 127.0.0.1 only, not ${hostname}`));
  }
  if (!opts.token) return Promise.reject(new Error("the REST bridge needs a non-empty token"));
  const pool = new RespPool({ port: opts.redisPort });
  const handler = createHandler(pool, opts.token);
  let requests = 0;
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname,
        port: opts.port ?? 0,
        onError: (err) => {
          const why = err instanceof Error ? err.message : String(err);
          return json({ error: `ERR bridge failure: ${why}` }, 500);
        },
        onListen: ({ port }) => {
          resolve({
            url: `http://127.0.0.1:${port}`,
            token: opts.token,
            get requests() {
              return requests;
            },
            async close() {
              await server.shutdown();
              await pool.close();
            },
          });
        },
      }, (req) => {
        requests++;
        return handler(req);
      });
    } catch (err) {
      reject(err);
    }
  });
}

if (import.meta.main) {
  const token = Deno.env.get("BRIDGE_TOKEN");
  if (!token) {
    console.error("BRIDGE_TOKEN is required (the bearer token clients must send)");
    Deno.exit(2);
  }
  const bridge = await startBridge({
    redisPort: Number(Deno.env.get("REDIS_PORT") ?? 6379),
    port: Number(Deno.env.get("BRIDGE_PORT") ?? 8079),
    token,
  });
  console.log(
    `REST bridge on ${bridge.url} -> redis 127.0.0.1:${Deno.env.get("REDIS_PORT") ?? 6379}`,
  );
  const quit = async () => {
    await bridge.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", quit);
  Deno.addSignalListener("SIGTERM", quit);
}

// A local stand-in for Upstash's REST API in front of a real redis-server, speaking exactly what
// @upstash/redis 1.39.0 sends: POST / (one command), POST /pipeline, POST /multi-exec, SSE
// /subscribe and /psubscribe, bearer auth and `Upstash-Encoding: base64`. Dev/test tool: keep it
// out of the web server's imports.
import { item, prepare, prepareAll, type Prepared, render, toCommand } from "./bridge_commands.ts";
import { pathTargets, Subscriptions } from "./bridge_sse.ts";
import { RespError, RespPool } from "./resp.ts";

export interface BridgeOptions {
  redisPort: number;
  token: string;
  /** The redis-server's `requirepass`; omit for a server without one. */
  redisPassword?: string;
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
  /** Ends every open subscription stream, as a network blip or an Upstash restart would. */
  dropSubscriptions(): void;
  close(): Promise<void>;
}

/** Larger request bodies are refused (413) before they are read in full. */
export const MAX_BODY_BYTES = 1024 * 1024;

const JSON_HEADERS = { "content-type": "application/json" };
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

const tooLarge = () => json({ error: "ERR request body too large" }, 413);

/** The body as text, or null once it is known to exceed MAX_BODY_BYTES. */
async function readBody(req: Request): Promise<string | null> {
  const declared = req.headers.get("content-length");
  if (Number(declared ?? "0") > MAX_BODY_BYTES) {
    await req.body?.cancel().catch(() => {});
    return null;
  }
  if (!req.body) return "";
  // A declared length is enforced by the HTTP server (no more bytes are read than it says), so
  // such a body is read whole in one call: a loop of stream reads cost each request about a
  // tenth of a millisecond more, on the path of every delta.
  if (declared !== null) return await req.text();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return utf8Decoder.decode(all);
}

function safeEqual(a: string, b: string): boolean {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ (y[i % y.length] ?? 0);
  return diff === 0;
}

const why = (err: unknown) => err instanceof Error ? err.message : String(err);

interface Backend {
  pool: RespPool;
  subscriptions: Subscriptions;
  redisPort: number;
  redisPassword?: string;
}

type Handler = (req: Request, info: Deno.ServeHandlerInfo) => Promise<Response>;

function createHandler(backend: Backend, token: string): Handler {
  const { pool, subscriptions } = backend;
  const expected = `Bearer ${token}`;

  async function single(body: unknown, b64: boolean): Promise<Response> {
    const cmd = toCommand(body);
    if (typeof cmd === "string") return json({ error: cmd }, 400);
    const prepared = await prepare(cmd);
    const [raw] = await pool.exec([prepared.args]);
    const reply = prepared.reply?.(raw) ?? raw;
    return reply instanceof RespError
      ? json({ error: reply.message }, 400)
      : json({ result: render(reply, b64) });
  }

  async function pipeline(body: unknown, b64: boolean): Promise<Response> {
    if (!Array.isArray(body) || body.length === 0) {
      return json({ error: "ERR a pipeline must be a non-empty JSON array of commands" }, 400);
    }
    // Each command is checked on its own: a refused one fails alone, as on Upstash.
    const parsed = await prepareAll(body.map(toCommand));
    const valid = parsed.filter((c) => typeof c !== "string");
    const replies = await pool.exec(valid.map((c) => c.args));
    let next = 0;
    return json(parsed.map((c) => {
      if (typeof c === "string") return { error: c };
      const raw = replies[next++];
      return item(c.reply?.(raw) ?? raw, b64);
    }));
  }

  async function multiExec(body: unknown, b64: boolean): Promise<Response> {
    if (!Array.isArray(body) || body.length === 0) {
      return json({ error: "ERR a transaction must be a non-empty JSON array of commands" }, 400);
    }
    const cmds: Prepared[] = [];
    for (const raw of body) {
      const cmd = toCommand(raw);
      // A transaction runs whole or not at all, so one refused command refuses it.
      if (typeof cmd === "string") return json({ error: cmd }, 400);
      cmds.push(await prepare(cmd));
    }
    const replies = await pool.exclusive((conn) =>
      conn.send([["MULTI"], ...cmds.map((c) => c.args), ["EXEC"]])
    );
    const exec = replies[replies.length - 1];
    if (exec instanceof RespError || !Array.isArray(exec)) {
      // Queue-time errors (bad arity, unknown command) abort the whole transaction, as in Redis.
      const cause = replies.slice(1, -1).find((r) => r instanceof RespError);
      const message = exec instanceof RespError ? exec.message : "EXECABORT Transaction aborted";
      return json({ error: cause ? `${message} ${cause.message}` : message }, 400);
    }
    return json(exec.map((r, i) => item(cmds[i]?.reply?.(r) ?? r, b64)));
  }

  async function subscribe(
    req: Request,
    segments: string[],
    finished: Promise<void>,
  ): Promise<Response> {
    await req.body?.cancel().catch(() => {});
    const kind = segments[0] === "psubscribe" ? "psubscribe" : "subscribe";
    const channels = pathTargets(segments.slice(1));
    if (channels.length === 0) {
      return json({ error: `ERR wrong number of arguments for '${kind}' command` }, 400);
    }
    try {
      const target = { port: backend.redisPort, password: backend.redisPassword };
      return await subscriptions.open(target, kind, channels, finished);
    } catch (err) {
      return json({ error: `ERR redis unavailable: ${why(err)}` }, 503);
    }
  }

  const routes: Record<string, (body: unknown, b64: boolean) => Promise<Response>> = {
    "/": single,
    "/pipeline": pipeline,
    "/multi-exec": multiExec,
  };

  return async (req, info) => {
    const auth = req.headers.get("authorization");
    if (auth === null || !safeEqual(auth, expected)) {
      await req.body?.cancel().catch(() => {});
      return json({ error: "Unauthorized" }, 401);
    }
    const path = new URL(req.url).pathname.replace(/\/+$/, "") || "/";
    const segments = path.split("/").slice(1);
    const streaming = segments[0] === "subscribe" || segments[0] === "psubscribe";
    if (req.method !== "POST" && !(streaming && req.method === "GET")) {
      await req.body?.cancel().catch(() => {});
      return json({ error: "ERR only POST is supported by the REST bridge" }, 405);
    }
    if (streaming) return await subscribe(req, segments, info.completed);
    const route = routes[path];
    if (!route) {
      await req.body?.cancel().catch(() => {});
      return json({ error: `ERR unknown endpoint ${path}` }, 404);
    }
    let body: unknown;
    try {
      const text = await readBody(req);
      if (text === null) return tooLarge();
      body = JSON.parse(text);
    } catch (err) {
      return json({ error: `ERR failed to parse request body as JSON: ${why(err)}` }, 400);
    }
    const b64 = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    try {
      return await route(body, b64);
    } catch (err) {
      return json({ error: `ERR redis unavailable: ${why(err)}` }, 503);
    }
  };
}

export function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const hostname = opts.hostname ?? "127.0.0.1";
  if (hostname !== "127.0.0.1") {
    return Promise.reject(new Error(`the REST bridge listens on 127.0.0.1 only, not ${hostname}`));
  }
  if (!opts.token) return Promise.reject(new Error("the REST bridge needs a non-empty token"));
  const backend: Backend = {
    pool: new RespPool({ port: opts.redisPort, password: opts.redisPassword }),
    subscriptions: new Subscriptions(),
    redisPort: opts.redisPort,
    redisPassword: opts.redisPassword,
  };
  const handler = createHandler(backend, opts.token);
  let requests = 0;
  let closing: Promise<void> | undefined;
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname,
        port: opts.port ?? 0,
        onError: (err) => json({ error: `ERR bridge failure: ${why(err)}` }, 500),
        onListen: ({ port }) => {
          resolve({
            url: `http://127.0.0.1:${port}`,
            token: opts.token,
            get requests() {
              return requests;
            },
            dropSubscriptions: () => backend.subscriptions.closeAll(),
            close() {
              closing ??= (async () => {
                // Event streams never end on their own, and shutdown waits for open responses.
                const stopped = server.shutdown();
                backend.subscriptions.closeAll();
                await stopped;
                await backend.pool.close();
              })();
              return closing;
            },
          });
        },
      }, (req, info) => {
        requests++;
        return handler(req, info);
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
  const redisPort = Number(Deno.env.get("REDIS_PORT") ?? 6379);
  const bridge = await startBridge({
    redisPort,
    redisPassword: Deno.env.get("REDIS_PASSWORD") || undefined,
    port: Number(Deno.env.get("BRIDGE_PORT") ?? 8079),
    token,
  });
  console.log(`REST bridge on ${bridge.url} -> redis 127.0.0.1:${redisPort}`);
  const quit = async () => {
    await bridge.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", quit);
  Deno.addSignalListener("SIGTERM", quit);
}

// The whole product on loopback for tests and benchmarks: a private redis-server, our REST
// bridge, a local OpenAI-compatible model server, and the real web server(s) and worker(s) as
// child processes (so a test can SIGKILL one mid-reply).
import { createRedis, type Redis, type RedisEndpoint } from "../../lib/redis/client.ts";
import { type Bridge, startBridge } from "../../dev/bridge.ts";
import { freePort, type RedisServer, startRedisServer } from "../../dev/redis_server.ts";
import {
  type ModelServer,
  type OpenAIServerOptions,
  startOpenAIServer,
} from "../fixtures/model_servers.ts";
import { ServerFrame } from "../../lib/contract/frames.ts";
import { waitFor } from "./wait.ts";

const ROOT = new URL("../../", import.meta.url);

export interface Proc {
  child: Deno.ChildProcess;
  /** SIGKILL: a crash, no clean-up. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions extends OpenAIServerOptions {
  workers?: number;
  servers?: number;
  /** Extra environment for servers and workers. */
  env?: Record<string, string>;
  /** Use this model server instead of starting an OpenAI-compatible one. */
  modelEnv?: Record<string, string>;
  /** Start even though no worker will be able to answer (to test what users see then). */
  allowNoModel?: boolean;
}

export interface Stack {
  /** The first web server, e.g. http://127.0.0.1:PORT */
  baseUrl: string;
  baseUrls: string[];
  endpoint: RedisEndpoint;
  bridge: Bridge;
  redis: Redis;
  model: ModelServer | null;
  /** The private redis-server, for tests that ask Redis itself (INFO, commandstats). */
  redisServer: RedisServer;
  servers: Proc[];
  workers: Proc[];
  startWorker(env?: Record<string, string>): Promise<Proc>;
  /** What every process of this stack printed so far (JSON log lines). */
  logs(): string;
  /** Kills the first web server and starts it again on the same port. */
  restartServer(): Promise<void>;
  stop(): Promise<void>;
}

async function collect(stream: ReadableStream<Uint8Array>, captured: string[], echo: boolean) {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    captured.push(text);
    if (echo) Deno.stderr.writeSync(chunk);
  }
}

/** Flags for one kind of process: STACK_DENO_ARGS_main_ts="--cpu-prof" profiles the web server. */
const profiling = (script: string) =>
  Deno.env.get(`STACK_DENO_ARGS_${script.replace(/\W/g, "_")}`)?.split(" ") ?? [];

/** Starts a process of the product; what it prints goes to `captured` (and stderr with STACK_LOG=1). */
function spawn(script: string, env: Record<string, string>, captured: string[]): Proc {
  const verbose = Deno.env.get("STACK_LOG") === "1";
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", ...profiling(script), script],
    cwd: ROOT,
    env: { NO_COLOR: "1", LOG_FORMAT: "json", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  collect(child.stdout, captured, verbose).catch(() => {});
  collect(child.stderr, captured, verbose).catch(() => {});
  let done = false;
  const exited = child.status.then(() => done = true);
  const signal = async (sig: Deno.Signal) => {
    if (!done) {
      try {
        child.kill(sig);
      } catch { /* already gone */ }
    }
    await exited;
  };
  return { child, kill: () => signal("SIGKILL"), stop: () => signal("SIGTERM") };
}

/** Startup checks: a refused connection (the process is not listening yet) counts as "not yet". */
const notYet = (check: () => Promise<boolean>) => () => check().catch(() => false);

const healthOk = (url: string) =>
  notYet(async () => {
    const res = await fetch(`${url}/api/health`);
    await res.body?.cancel();
    return res.status === 200;
  });

const workerAnnounced = (url: string) =>
  notYet(async () => {
    const res = await fetch(`${url}/api/health`);
    const body = await res.json();
    return !String(body.detail ?? "").includes("No worker is running");
  });

const anyResponse = (url: string) =>
  notYet(async () => {
    const res = await fetch(`${url}/api/health`);
    await res.body?.cancel();
    return true;
  });

const STARTUP_MS = 30_000;

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const redisServer: RedisServer = await startRedisServer();
  const bridge: Bridge = await startBridge({
    redisPort: redisServer.port,
    token: crypto.randomUUID(),
  });
  const endpoint = { url: bridge.url, token: bridge.token };
  const model = opts.modelEnv ? null : await startOpenAIServer(opts);
  const logs: string[] = [];
  const baseEnv: Record<string, string> = {
    UPSTASH_REDIS_REST_URL: endpoint.url,
    UPSTASH_REDIS_REST_TOKEN: endpoint.token,
    HOST: "127.0.0.1",
    WORKER_CLAIM_IDLE_MS: "2000",
    RATE_LIMIT_PER_MINUTE: "1000",
    SESSION_RATE_LIMIT_PER_MINUTE: "100000",
    ...(model
      ? { MODEL_PROVIDER: "openai", OPENAI_BASE_URL: model.url, OPENAI_MODEL: "local" }
      : {}),
    ...opts.modelEnv,
    ...opts.env,
  };
  const ports = Array.from({ length: opts.servers ?? 1 }, freePort);
  const baseUrls = ports.map((p) => `http://127.0.0.1:${p}`);
  const servers = ports.map((p) => spawn("main.ts", { ...baseEnv, PORT: String(p) }, logs));
  const workers: Proc[] = [];
  const startWorker = (env: Record<string, string> = {}) => {
    const w = spawn("worker.ts", { ...baseEnv, ...env }, logs);
    workers.push(w);
    return Promise.resolve(w);
  };
  for (let i = 0; i < (opts.workers ?? 1); i++) await startWorker();
  try {
    for (const url of baseUrls) await waitFor(anyResponse(url), `web server ${url}`, STARTUP_MS);
    if (workers.length && !opts.allowNoModel) {
      await waitFor(healthOk(baseUrls[0]), "a ready worker", STARTUP_MS);
    }
    if (opts.allowNoModel) {
      await waitFor(workerAnnounced(baseUrls[0]), "a worker's announcement", STARTUP_MS);
    }
  } catch (err) {
    await Promise.all([...servers, ...workers].map((p) => p.kill()));
    await bridge.close();
    await redisServer.stop();
    await model?.close();
    throw err;
  }

  return {
    baseUrl: baseUrls[0],
    baseUrls,
    endpoint,
    bridge,
    redis: createRedis(endpoint),
    model,
    redisServer,
    servers,
    workers,
    startWorker,
    logs: () => logs.join(""),
    async restartServer() {
      await servers[0].kill();
      servers[0] = spawn("main.ts", { ...baseEnv, PORT: String(ports[0]) }, logs);
      await waitFor(anyResponse(baseUrls[0]), "the restarted web server", STARTUP_MS);
    },
    async stop() {
      await Promise.all([...servers, ...workers].map((p) => p.stop()));
      await bridge.close();
      await redisServer.stop();
      await model?.close();
    },
  };
}

/** The chat socket's address for `token` (none: a socket that must be refused). */
export function chatSocketUrl(baseUrl: string, token: string | null, path = "/api/chat"): string {
  return baseUrl.replace(/^http/, "ws") + path + (token === null ? "" : `?token=${token}`);
}

/**
 * A minimal chat client over a real WebSocket, collecting every frame it gets. Frames are checked
 * against the contract's `ServerFrame` schema: a malformed one fails the next `waitFor` or `close`.
 */
export class ChatClient {
  frames: ServerFrame[] = [];
  closed: Promise<CloseEvent>;
  #ws: WebSocket;
  #waiters: (() => void)[] = [];
  #malformed: Error | null = null;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const parsed = ServerFrame.safeParse(parseJson(e.data));
      if (parsed.success) this.frames.push(parsed.data);
      else {
        this.#malformed ??= new Error(
          `malformed frame from the server: ${String(e.data).slice(0, 500)}\n` +
            JSON.stringify(parsed.error.issues),
        );
      }
      this.#wake();
    };
    this.closed = new Promise((r) =>
      ws.addEventListener("close", (e) => {
        r(e);
        this.#wake();
      })
    );
  }

  static connect(baseUrl: string, token: string | null, path = "/api/chat"): Promise<ChatClient> {
    const ws = new WebSocket(chatSocketUrl(baseUrl, token, path));
    const client = new ChatClient(ws);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(client);
      ws.onerror = () => reject(new Error("websocket failed to open"));
    });
  }

  send(frame: unknown): void {
    this.#ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Closes the socket; throws if a malformed frame arrived. */
  close(): void {
    this.#ws.close();
    if (this.#malformed) throw this.#malformed;
  }

  /** Waits until a frame satisfies `pred` (or the socket closes), returning it. */
  waitFor<F extends ServerFrame>(pred: (f: ServerFrame) => f is F, timeoutMs?: number): Promise<F>;
  waitFor(pred: (f: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
  async waitFor(pred: (f: ServerFrame) => boolean, timeoutMs = 15_000): Promise<ServerFrame> {
    let found: ServerFrame | undefined;
    await waitFor(
      () => {
        if (this.#malformed) throw this.#malformed;
        found = this.frames.find(pred);
        if (found) return true;
        if (this.#ws.readyState === WebSocket.CLOSED) {
          throw new Error("socket closed while waiting");
        }
        return false;
      },
      () => `a frame; frames so far: ${JSON.stringify(this.frames).slice(0, 2000)}`,
      timeoutMs,
      // Checked on every frame and on close, so no polling is needed (benchmarks time this).
      { intervalMs: Infinity, changed: () => new Promise((r) => this.#waiters.push(r)) },
    );
    return found!;
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

function parseJson(data: unknown): unknown {
  try {
    return JSON.parse(String(data));
  } catch {
    return data;
  }
}

export async function newSession(baseUrl: string, name = "Ada"): Promise<string> {
  const res = await fetch(`${baseUrl}/api/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`token failed: ${res.status} ${JSON.stringify(body)}`);
  return body.token;
}

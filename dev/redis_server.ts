// Starts a private redis-server for local development and tests.
import { RespConnection, RespError } from "./resp.ts";

export interface RedisServerOptions {
  /** Fixed port; default: a free one (retried if another process grabs it first). */
  port?: number;
  /** Working directory for dumps/AOF; created if missing. Default: a temp dir removed on stop. */
  dir?: string;
  /** Keep data on disk (AOF, fsync every second). Default: in-memory only. */
  persist?: boolean;
  /**
   * `requirepass`: `true` generates one, a string is used as it is. Default: none, so tests that
   * connect without one keep working. It reaches redis-server on stdin, never on its command line.
   */
  password?: boolean | string;
  /**
   * Own session and process group, so a terminal's Ctrl+C (sent to the whole foreground group)
   * reaches only us and we decide when Redis stops. Default false: tests want it to die with them.
   */
  detached?: boolean;
}

export interface RedisServer {
  port: number;
  pid: number;
  /** What clients must AUTH with; undefined when the server has no password. */
  password?: string;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Graceful shutdown (SIGTERM, SIGKILL after 10 s); resolves once the process has exited. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
const INSTALL_HINT =
  "redis-server was not found on PATH; install it with `apt-get install redis-server`";

// Safety net so an aborted dev run does not leave orphaned servers behind.
const live = new Set<Deno.ChildProcess>();
let unloadHooked = false;
function track(child: Deno.ChildProcess): void {
  live.add(child);
  if (unloadHooked) return;
  unloadHooked = true;
  globalThis.addEventListener("unload", () => {
    for (const c of live) {
      try {
        c.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
  });
}

/** A port nothing listens on right now (another process may still take it first). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** A redis.conf line; every byte escaped so nothing in the value can end or extend the line. */
function configLine(name: string, value: string): string {
  const hex = Array.from(
    new TextEncoder().encode(value),
    (b) => `\\x${b.toString(16).padStart(2, "0")}`,
  );
  return `${name} "${hex.join("")}"\n`;
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const password = opts.password === true
    ? Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0"))
      .join("")
    : opts.password || undefined;
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "redis-server-" });
  if (!ownDir) await Deno.mkdir(dir, { recursive: true });
  const attempts = opts.port === undefined ? 5 : 1;
  let lastError: Error | undefined;
  try {
    for (let i = 0; i < attempts; i++) {
      const port = opts.port ?? freePort();
      try {
        return await launch({ ...opts, port, dir, password }, ownDir);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) throw new Error(INSTALL_HINT);
        lastError = err instanceof Error ? err : new Error(String(err));
      }
    }
  } catch (err) {
    if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
  if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw lastError ?? new Error("redis-server did not start");
}

interface LaunchOptions {
  port: number;
  dir: string;
  persist?: boolean;
  password?: string;
  detached?: boolean;
}

async function launch(opts: LaunchOptions, removeDir: boolean): Promise<RedisServer> {
  const { port, dir, password } = opts;
  const args = [
    // `-` reads more configuration from stdin: where the password goes, away from `ps`.
    ...(password === undefined ? [] : ["-"]),
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--protected-mode",
    "yes",
    "--daemonize",
    "no",
    "--dir",
    dir,
    "--loglevel",
    "warning",
    ...(opts.persist
      ? ["--appendonly", "yes", "--appendfsync", "everysec"]
      : ["--save", "", "--appendonly", "no"]),
  ];
  const child = new Deno.Command("redis-server", {
    args,
    stdin: password === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    detached: opts.detached ?? false,
  }).spawn();
  track(child);
  if (password !== undefined) {
    // redis-server reads stdin to its end before it starts.
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(configLine("requirepass", password)))
      .catch(() => {});
    await writer.close().catch(() => {});
  }

  // Drain the log so redis never blocks on a full pipe; keep the tail for error messages.
  let log = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      log = (log + decoder.decode(chunk, { stream: true })).slice(-4000);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    live.delete(child);
    return s;
  });

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // exited in between
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const killer = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch {
              // exited in between
            }
            resolve();
          }, STOP_TIMEOUT_MS);
        });
        await Promise.race([status, killer]);
        clearTimeout(timer);
      }
      await status;
      await drained;
      if (removeDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
    return stopping;
  };

  try {
    await waitReady(port, password, child.pid, () => exited);
  } catch (err) {
    removeDir = false; // the caller retries in the same dir or removes it
    await stop();
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`redis-server on port ${port} did not start: ${why}\n${log.trim()}`);
  }

  return {
    port,
    pid: child.pid,
    password,
    url: `redis://127.0.0.1:${port}`,
    stop,
  };
}

/** Another server answers on the port: waiting longer cannot help. */
class ForeignServer extends Error {}

/**
 * Ready means: answers PING, and is our child (not another server that took the port). Refused
 * connections are waited out, however many: a loaded machine can take a while to start the child.
 */
export async function waitReady(
  port: number,
  password: string | undefined,
  pid: number,
  hasExited: () => boolean,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = "timed out";
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error("process exited");
    try {
      const conn = await RespConnection.connect(port);
      try {
        const auth = password === undefined ? [] : [["AUTH", password]];
        const replies = await conn.send([...auth, ["PING"], ["INFO", "server"]]);
        const [pong, info] = replies.slice(auth.length);
        const text = info instanceof Uint8Array ? new TextDecoder().decode(info) : "";
        const owner = /process_id:(\d+)/.exec(text)?.[1];
        if (pong === "PONG" && owner === String(pid)) return;
        lastError = `port ${port} is answered by process ${owner}, not ${pid}`;
        // Our child takes our password (or needs none); refusing it means another server.
        const foreign = pong instanceof RespError && /^(NOAUTH|WRONGPASS)/.test(pong.message);
        if (pong === "PONG" || foreign) throw new ForeignServer(lastError);
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (err instanceof ForeignServer) throw err;
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(lastError);
}

// Starts a private redis-server for local development and tests.
import { RespConnection } from "./resp.ts";

export interface RedisServerOptions {
  /** Fixed port; default: a free one (retried if another process grabs it first). */
  port?: number;
  /** Working directory for dumps/AOF; created if missing. Default: a temp dir removed on stop. */
  dir?: string;
  /** Keep data on disk (AOF, fsync every second). Default: in-memory only. */
  persist?: boolean;
}

export interface RedisServer {
  port: number;
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

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "redis-server-" });
  if (!ownDir) await Deno.mkdir(dir, { recursive: true });
  const attempts = opts.port === undefined ? 5 : 1;
  let lastError: Error | undefined;
  try {
    for (let i = 0; i < attempts; i++) {
      const port = opts.port ?? freePort();
      try {
        return await launch(port, dir, opts.persist ?? false, ownDir);
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

async function launch(
  port: number,
  dir: string,
  persist: boolean,
  removeDir: boolean,
): Promise<RedisServer> {
  const args = [
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
    ...(persist
      ? ["--appendonly", "yes", "--appendfsync", "everysec"]
      : ["--save", "", "--appendonly", "no"]),
  ];
  const child = new Deno.Command("redis-server", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  track(child);

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
    await waitReady(port, child.pid, () => exited);
  } catch (err) {
    removeDir = false; // the caller retries in the same dir or removes it
    await stop();
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`redis-server on port ${port} did not start: ${why}\n${log.trim()}`);
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
  };
}

// Ready means: answers PING, and is our child (not another server that took the port).
async function waitReady(port: number, pid: number, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = "timed out";
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error("process exited");
    try {
      const conn = await RespConnection.connect(port);
      try {
        const [pong, info] = await conn.send([["PING"], ["INFO", "server"]]);
        const text = info instanceof Uint8Array ? new TextDecoder().decode(info) : "";
        const owner = /process_id:(\d+)/.exec(text)?.[1];
        if (pong === "PONG" && owner === String(pid)) return;
        lastError = `port ${port} is answered by process ${owner}, not ${pid}`;
        if (pong === "PONG") throw new Error(lastError);
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (err instanceof Error && err.message === lastError) throw err;
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(lastError);
}

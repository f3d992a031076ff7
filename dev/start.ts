// `deno task start` (and `dev` with --watch): everything needed to chat locally — a private
// Redis behind the REST bridge unless UPSTASH_REDIS_REST_URL is set, the web server and a worker.
import { loadConfig } from "../lib/config.ts";
import { type LocalRedis, startLocalRedis } from "./local_redis.ts";
import { freePort } from "./redis_server.ts";
import { watchUi } from "./watch_ui.ts";

const ROOT = new URL("../", import.meta.url);
// A worker finishing a reply may need a while; after this it is killed so Ctrl+C always ends.
const STOP_TIMEOUT_MS = 30_000;
const PROBE_INTERVAL_MS = 100;

interface Child {
  name: string;
  done: boolean;
  status: Promise<Deno.CommandStatus>;
  stop(): Promise<void>;
  kill(): void;
}

const watch = Deno.args.includes("--watch");
const config = loadConfig();
// The local runtime is for this machine only unless HOST says otherwise.
const host = config.HOST ?? "127.0.0.1";
const wildcard = host === "0.0.0.0" || host === "::";
const probeHost = wildcard ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;

function portInUse(hostname: string, port: number): boolean {
  try {
    Deno.listen({ hostname, port }).close();
    return false;
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) return true;
    throw err;
  }
}

const port = config.PORT || freePort();
if (portInUse(host, port)) {
  // Checked before anything starts, so a second `deno task start` leaves the first one alone.
  console.error(`port ${port} is in use; set PORT=<another port> to run a second copy`);
  Deno.exit(1);
}

const children: Child[] = [];
let local: Promise<LocalRedis | null> = Promise.resolve(null);
let stopping: Promise<void> | null = null;

// Children get their own session and process group (detached), so the terminal's Ctrl+C, which
// goes to the whole foreground group, reaches only this process; Redis must outlive the worker,
// or the worker's last writes fail and the reply in progress starts over next time.
function spawn(name: string, script: string, env: Record<string, string>): Child {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...(watch ? ["--watch"] : []), script],
    cwd: ROOT,
    env,
    stdin: "null",
    detached: true,
  }).spawn();
  const child: Child = {
    name,
    done: false,
    status: process.status.then((s) => {
      child.done = true;
      return s;
    }),
    kill() {
      if (child.done) return;
      try {
        process.kill("SIGKILL");
      } catch { /* already gone */ }
    },
    async stop() {
      if (child.done) return;
      try {
        process.kill("SIGTERM");
      } catch { /* already gone */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          console.error(`the ${name} did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it`);
          child.kill();
          resolve();
        }, STOP_TIMEOUT_MS);
      });
      await Promise.race([child.status, late]);
      clearTimeout(timer);
      await child.status;
    },
  };
  children.push(child);
  return child;
}

/** Web server and worker first (they still need Redis to finish), then the bridge, then Redis. */
function stop(code: number): Promise<void> {
  stopping ??= (async () => {
    await Promise.all(children.map((c) => c.stop()));
    const redis = await local.catch(() => null);
    await redis?.stop();
    Deno.exit(code);
  })();
  return stopping;
}

// One Ctrl+C under `deno task` arrives twice (the terminal's and the one deno task forwards), so
// only a signal well after the first one means "force".
const FORCE_AFTER_MS = 1_000;
let firstSignalAt = 0;

function onSignal() {
  if (!stopping) {
    firstSignalAt = Date.now();
    console.log("stopping… (Ctrl+C again to force)");
    stop(0);
  } else if (Date.now() - firstSignalAt >= FORCE_AFTER_MS) {
    console.error("stopping now");
    for (const c of children) c.kill();
  }
}
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
// Last resort if this process ends another way: detached children would otherwise live on.
globalThis.addEventListener("unload", () => children.forEach((c) => c.kill()));

// Readable logs for a person at a terminal, whatever the children's stdout is (LOG_FORMAT wins).
const logFormat = Deno.env.get("LOG_FORMAT") || "pretty";
const env: Record<string, string> = { HOST: host, PORT: String(port), LOG_FORMAT: logFormat };
if (!config.UPSTASH_REDIS_REST_URL) {
  local = startLocalRedis();
  try {
    const redis = (await local)!;
    env.UPSTASH_REDIS_REST_URL = redis.url;
    env.UPSTASH_REDIS_REST_TOKEN = redis.token;
    console.log(`local Redis ready (data in .data/redis) behind the REST bridge at ${redis.url}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    console.error("Or set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (see .env.example).");
    Deno.exit(1);
  }
}

if (!stopping) {
  const web = spawn("web server", "main.ts", env);
  spawn("worker", "worker.ts", env);
  if (watch) watchUi(); // the browser bundle, rebuilt as islands and components change

  const exited = Promise.race(children.map((c) => c.status.then((s) => ({ c, s }))));
  const listening = (async () => {
    while (!web.done && !stopping) {
      try {
        const res = await fetch(`http://${probeHost}:${port}/api/health`, {
          signal: AbortSignal.timeout(5_000),
        });
        await res.body?.cancel();
        return true; // any answer: it listens (health may be 503 until a worker registers)
      } catch {
        await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
      }
    }
    return false;
  })();
  if (await Promise.race([listening, exited.then(() => false)]) && !stopping) {
    const shown = wildcard ? "localhost" : probeHost;
    console.log(`chat at http://${shown}:${port}  (Ctrl+C stops everything)`);
  }
  const { c, s } = await exited;
  if (!stopping) {
    console.error(`the ${c.name} exited (code ${s.code}); stopping the rest`);
    await stop(s.code || 1);
  }
}

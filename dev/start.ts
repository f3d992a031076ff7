// `deno task start` (and `dev` with --watch): everything needed to chat locally — a private
// Redis behind the REST bridge unless UPSTASH_REDIS_REST_URL is set, the web server and a worker.
import { loadConfig } from "../lib/config.ts";
import { type LocalRedis, startLocalRedis } from "./local_redis.ts";

const watch = Deno.args.includes("--watch");
const config = loadConfig();
let local: LocalRedis | null = null;
const env: Record<string, string> = {};

if (!config.UPSTASH_REDIS_REST_URL) {
  try {
    local = await startLocalRedis();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    console.error("Or set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (see .env.example).");
    Deno.exit(1);
  }
  env.UPSTASH_REDIS_REST_URL = local.url;
  env.UPSTASH_REDIS_REST_TOKEN = local.token;
  console.log(`local Redis ready (data in .data/redis) behind the REST bridge at ${local.url}`);
}

const run = (script: string) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...(watch ? ["--watch"] : []), script],
    env,
    stdin: "null",
  }).spawn();

const children = [run("main.ts"), run("worker.ts")];
console.log(`chat at http://localhost:${config.PORT}  (Ctrl+C stops everything)`);

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  await Promise.all(children.map((c) => c.status));
  await local?.stop();
  Deno.exit(code);
}
Deno.addSignalListener("SIGINT", () => stop());
Deno.addSignalListener("SIGTERM", () => stop());
const first = await Promise.race(children.map((c) => c.status));
if (!stopping) {
  console.error(`a process exited (code ${first.code}); stopping the rest`);
  await stop(first.code || 1);
}

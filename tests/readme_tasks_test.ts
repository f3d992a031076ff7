// Every task the README's Tasks table names works as the first command in a fresh clone: it
// installs and builds what it needs itself. The clone is of this working tree (HEAD plus the
// uncommitted files), shares the machine's Deno and npm caches, and each server is started,
// probed and stopped within a bounded time. `test` is the suite itself and is not re-run.
import assert from "node:assert/strict";
import { startBridge } from "../dev/bridge.ts";
import { freePort, startRedisServer } from "../dev/redis_server.ts";
import { startOpenAIServer } from "./fixtures/model_servers.ts";
import { waitFor } from "./support/wait.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const START_MS = 120_000;

async function run(cmd: string[], cwd: string, stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd.join(" ")} failed:\n${text}`);
  return text;
}

/** `git clone` of HEAD, then the working tree's uncommitted files copied over it. */
async function freshClone(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "chat-clone-" });
  await run(["git", "clone", "--quiet", "--no-hardlinks", ROOT, dir], ROOT);
  const list = async (...args: string[]) =>
    (await run(["git", "ls-files", "-z", ...args], ROOT)).split("\0").filter(Boolean);
  const deleted = new Set(await list("--deleted"));
  const files = (await list("--cached", "--others", "--exclude-standard"))
    .filter((f) => !deleted.has(f));
  await run(["rsync", "-a", "--from0", "--files-from=-", "./", dir], ROOT, files.join("\0"));
  for (const f of deleted) await Deno.remove(`${dir}/${f}`).catch(() => {});
  return dir;
}

/** The task names in the first column of the README's Tasks table. */
async function readmeTasks(): Promise<string[]> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const section = readme.split(/^## Tasks$/m)[1]?.split(/^## /m)[0] ?? "";
  const names = section.split("\n")
    .filter((l) => l.startsWith("| `"))
    .slice(1) // the header row
    .flatMap((l) => [...l.split("|")[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]));
  return [...new Set(names)];
}

interface Task {
  lines: string[];
  status: Promise<Deno.CommandStatus>;
  stop(): Promise<void>;
}

/** `deno task <args>` in its own process group, so stopping it stops everything it started. */
function task(cwd: string, args: string[], env: Record<string, string>): Task {
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), "task", ...args],
    cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      NO_COLOR: "1",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const bytes of stream) lines.push(...decoder.decode(bytes).split("\n"));
  };
  const drained = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const status = child.status.then(async (s) => (await drained, s));
  const signal = (sig: Deno.Signal) => {
    try {
      Deno.kill(-child.pid, sig);
    } catch { /* already gone */ }
  };
  return {
    lines,
    status,
    async stop() {
      // What Ctrl+C in a terminal does: SIGINT to the whole foreground process group.
      signal("SIGINT");
      const killer = setTimeout(() => signal("SIGKILL"), 35_000);
      await status;
      clearTimeout(killer);
    },
  };
}

async function completes(t: Task, what: string): Promise<string> {
  const status = await t.status;
  const output = t.lines.join("\n");
  assert.equal(status.code, 0, `${what} failed:\n${output.slice(-4000)}`);
  return output;
}

async function answers(url: string, t: Task, what: string, wantStatus = 200): Promise<Response> {
  let last: Response | null = null;
  let exited = false;
  t.status.then(() => exited = true);
  await waitFor(
    async () => {
      if (exited) throw new Error(`${what} exited:\n${t.lines.join("\n").slice(-4000)}`);
      last = await fetch(url).catch(() => null);
      if (last?.status === wantStatus) return true;
      await last?.body?.cancel();
      return false;
    },
    () => `${what} at ${url}:\n${t.lines.join("\n").slice(-3000)}`,
    START_MS,
  );
  return last!;
}

Deno.test({
  name: "every README task works as the first command in a fresh clone",
  sanitizeResources: false,
  async fn(t) {
    const tasks = await readmeTasks();
    const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
    for (const name of tasks) assert.ok(config.tasks[name], `README names unknown task ${name}`);

    const clone = await freshClone();
    const redisServer = await startRedisServer();
    const bridge = await startBridge({ redisPort: redisServer.port, token: crypto.randomUUID() });
    const model = await startOpenAIServer({ reply: "Hi." });
    const modelEnv = { MODEL_PROVIDER: "openai", OPENAI_BASE_URL: model.url, OPENAI_MODEL: "m" };
    // `test` is the suite running this test; `install:gpu` downloads a GPU build of llama.cpp.
    const checked = new Set<string>(["test", "install:gpu"]);
    try {
      await t.step("server: installs, builds the page, reads .env, serves", async () => {
        const port = freePort();
        // Only in .env: the task must load it.
        await Deno.writeTextFile(`${clone}/.env`, `PORT=${port}\nHOST=127.0.0.1\n`);
        const server = task(clone, ["server"], {
          UPSTASH_REDIS_REST_URL: bridge.url,
          UPSTASH_REDIS_REST_TOKEN: bridge.token,
        });
        try {
          const base = `http://127.0.0.1:${port}`;
          await (await answers(`${base}/api/health/live`, server, "the web server")).body?.cancel();
          const page = await (await fetch(base)).text();
          assert.match(page, /<script type="module" src="\/static\/build\//);
          assert.doesNotMatch(page, /build-missing/);
        } finally {
          await server.stop();
          await Deno.remove(`${clone}/.env`);
        }
        checked.add("server");
      });

      await t.step("redis, then worker against it", async () => {
        const redis = task(clone, ["redis"], {});
        try {
          await waitFor(
            () => Deno.stat(`${clone}/.data/bridge.json`).then(() => true, () => false),
            () => `deno task redis:\n${redis.lines.join("\n")}`,
            START_MS,
          );
          const metricsPort = freePort();
          const worker = task(clone, ["worker"], {
            ...modelEnv,
            WORKER_METRICS_PORT: String(metricsPort),
            HOST: "127.0.0.1",
          });
          try {
            const health = `http://127.0.0.1:${metricsPort}/health`;
            await (await answers(health, worker, "the worker")).body?.cancel();
          } finally {
            await worker.stop();
          }
        } finally {
          await redis.stop();
        }
        checked.add("redis").add("worker");
      });

      for (const name of ["start", "dev"]) {
        await t.step(`${name}: the whole app on one port`, async () => {
          const port = freePort();
          const app = task(clone, [name], { ...modelEnv, PORT: String(port) });
          try {
            // 200 only once Redis, the web server and a ready worker are all up.
            const url = `http://127.0.0.1:${port}/api/health`;
            await (await answers(url, app, `deno task ${name}`)).body?.cancel();
          } finally {
            await app.stop();
          }
          checked.add(name);
        });
      }

      await t.step("install, install:worker, build and check complete", async () => {
        await completes(task(clone, ["install"], {}), "deno task install");
        await completes(task(clone, ["install:worker"], {}), "deno task install:worker");
        await completes(task(clone, ["build"], {}), "deno task build");
        await completes(task(clone, ["check"], {}), "deno task check");
        checked.add("install").add("install:worker").add("build").add("check");
      });

      await t.step("model: offline, it says the network is unreachable", async () => {
        const url = `http://127.0.0.1:${freePort()}/model.gguf`;
        const run = task(clone, ["model", "--url", url, "--out", `${clone}/models/t.gguf`], {});
        const status = await run.status;
        assert.equal(status.code, 1);
        assert.match(run.lines.join("\n"), /network is unreachable/);
        checked.add("model");
      });

      await t.step("bench starts and measures", async () => {
        const bench = task(clone, ["bench"], { BENCH_COLD_SAMPLES: "1", BENCH_IDLE_SECONDS: "1" });
        try {
          // Any figure it prints after its own header line: the benchmark ran.
          const printed = () => {
            const at = bench.lines.findIndex((l) => l.startsWith("Task bench"));
            return at >= 0 && bench.lines.slice(at + 1).filter((l) => /\d/.test(l)).length >= 2;
          };
          await waitFor(
            printed,
            () => `a figure from deno task bench:\n${bench.lines.join("\n").slice(-3000)}`,
            START_MS,
          );
        } finally {
          await bench.stop();
        }
        checked.add("bench");
      });

      assert.deepEqual(tasks.filter((n) => !checked.has(n)), [], "README tasks not walked");
    } finally {
      await model.close();
      await bridge.close();
      await redisServer.stop();
      await Deno.remove(clone, { recursive: true }).catch(() => {});
    }
  },
});

// The local runtime's safety: the bridge token is not Redis admin, request bodies are bounded,
// Redis has a password and binds loopback, secrets are 0600, and `deno task start` starts and
// stops in order.
import assert from "node:assert/strict";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { MAX_BODY_BYTES, startBridge } from "../dev/bridge.ts";
import { startLocalRedis } from "../dev/local_redis.ts";
import { freePort, type RedisServer, startRedisServer } from "../dev/redis_server.ts";
import { RespConnection, RespError, type RespValue } from "../dev/resp.ts";
import { waitFor } from "./support/wait.ts";

const TOKEN = "runtime-" + crypto.randomUUID();
const AUTH = { authorization: `Bearer ${TOKEN}` };
const text = (v: RespValue) => v instanceof Uint8Array ? new TextDecoder().decode(v) : v;

const post = (url: string, body: unknown, path = "/") =>
  fetch(url + path, { method: "POST", body: JSON.stringify(body), headers: AUTH })
    .then(async (res) => ({ status: res.status, json: await res.json() }));

async function withBridge(
  fn: (url: string, server: RedisServer) => Promise<void>,
  redisPassword?: string,
) {
  const server = await startRedisServer({ password: redisPassword });
  const bridge = await startBridge({ redisPort: server.port, token: TOKEN, redisPassword });
  try {
    await fn(bridge.url, server);
  } finally {
    await bridge.close();
    await server.stop();
  }
}

Deno.test("the bridge token is not Redis admin: commands outside the allow-list are refused", async () => {
  await withBridge(async (url, server) => {
    await post(url, ["SET", "keep", "1"]);
    const refused = [
      "FLUSHALL|flushdb|SHUTDOWN NOSAVE|ACL SETUSER eve on >pw ~* +@all|CONFIG SET dir /tmp",
      "DEBUG SLEEP 0|MODULE LOAD /tmp/x.so|SCRIPT FLUSH|SCRIPT KILL|KEYS *|CLIENT KILL TYPE normal",
      "FUNCTION FLUSH|REPLICAOF 127.0.0.1 1|BGREWRITEAOF|SELECT 1|MULTI|BLPOP q 0|SUBSCRIBE c",
    ].join("|").split("|").map((c) => c.split(" "));
    const names = refused.map((c) =>
      c[0].toUpperCase() === "SCRIPT" ? `SCRIPT ${c[1]}` : c[0].toUpperCase()
    );
    for (const [i, cmd] of refused.entries()) {
      const error = `ERR command ${names[i]} is not allowed`;
      assert.deepEqual(await post(url, cmd), { status: 400, json: { error } });
    }
    // In a pipeline each command is judged alone; a transaction is refused whole.
    const piped = await post(url, [["SET", "p", "1"], ...refused, ["GET", "keep"]], "/pipeline");
    assert.equal(piped.status, 200);
    assert.deepEqual(piped.json, [
      { result: "OK" },
      ...names.map((n) => ({ error: `ERR command ${n} is not allowed` })),
      { result: "1" },
    ]);
    const tx = await post(url, [["SET", "t", "1"], ["FLUSHALL"]], "/multi-exec");
    assert.deepEqual(tx, { status: 400, json: { error: "ERR command FLUSHALL is not allowed" } });
    const kept = await post(url, ["MGET", "keep", "t"]);
    assert.deepEqual(kept, { status: 200, json: { result: ["1", null] } });
    // What the product's libraries send still passes: SCRIPT LOAD/EXISTS, EVALSHA then EVAL.
    const redis = new Redis({ url, token: TOKEN, enableTelemetry: false });
    const limiter = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(2, "60 s") });
    const hits = [];
    for (let i = 0; i < 3; i++) hits.push((await limiter.limit("ada")).success);
    assert.deepEqual(hits, [true, true, false]);
    const sha = await redis.scriptLoad("return 1");
    assert.deepEqual([await redis.scriptExists(sha), await redis.evalsha(sha, [], [])], [[1], 1]);
    // Refused means never sent: the server still has its data and its configuration.
    const conn = await RespConnection.connect(server.port);
    const [dir, keep] = await conn.send([["CONFIG", "GET", "dir"], ["GET", "keep"]]);
    await conn.close();
    assert.notEqual(text((dir as RespValue[])[1]), "/tmp");
    assert.equal(text(keep), "1");
  });
});

Deno.test("request bodies over MAX_BODY_BYTES get 413 without being read in full", async () => {
  await withBridge(async (url) => {
    const tooLarge = { error: "ERR request body too large" };
    const fits = ["SET", "fits", "x".repeat(MAX_BODY_BYTES - 100)];
    assert.deepEqual(await post(url, fits), { status: 200, json: { result: "OK" } });
    const declared = await post(url, ["SET", "big", "x".repeat(MAX_BODY_BYTES)]);
    assert.deepEqual(declared, { status: 413, json: tooLarge });
    // Chunked, with no length up front: the answer must come long before the 64 MiB are sent.
    let sent = 0;
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 64 * MAX_BODY_BYTES) return c.close();
        c.enqueue(sent === 0 ? new TextEncoder().encode('["SET","huge","') : chunk);
        sent += chunk.length;
      },
    });
    const res = await fetch(url, { method: "POST", body, headers: AUTH });
    const sentWhenAnswered = sent;
    assert.equal(res.status, 413);
    assert.deepEqual(await res.json(), tooLarge);
    assert.ok(sentWhenAnswered < 16 * MAX_BODY_BYTES, `read ${sentWhenAnswered} bytes first`);
    assert.deepEqual(await post(url, ["EXISTS", "big", "huge"]), {
      status: 200,
      json: { result: 0 },
    });
  });
});

Deno.test("startRedisServer says what to install when redis-server is missing", async () => {
  // A child process with an empty PATH, so this test cannot disturb others running alongside.
  const empty = await Deno.makeTempDir();
  try {
    const module = new URL("../dev/redis_server.ts", import.meta.url).href;
    const code = `const { startRedisServer } = await import(${JSON.stringify(module)});
      await startRedisServer().then(() => console.log("started"), (e) => console.log(e.message));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", code],
      env: { PATH: empty },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.match(text, /apt-get install redis-server/, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(empty);
  }
});

Deno.test("redis-server: loopback only, and a password kept off its command line", async () => {
  const plain = await startRedisServer();
  assert.equal(plain.password, undefined); // what tests/support/stack.ts relies on
  await plain.stop();
  const password = 'with "quotes", \\ and spaces';
  await withBridge(async (url, server) => {
    assert.equal(server.password, password);
    const cmdline = await Deno.readTextFile(`/proc/${server.pid}/cmdline`);
    assert.ok(!cmdline.includes("quotes"), cmdline);
    const anonymous = await RespConnection.connect(server.port);
    const [denied] = await anonymous.send([["GET", "k"]]);
    await anonymous.close();
    assert.ok(denied instanceof RespError && /^NOAUTH/.test(denied.message), String(denied));
    await assert.rejects(RespConnection.connect(server.port, { password: "wrong" }), /AUTH failed/);
    assert.deepEqual(await post(url, ["SET", "k", "v"]), { status: 200, json: { result: "OK" } });
    const bare = await startBridge({ redisPort: server.port, token: TOKEN });
    const res = await post(bare.url, ["GET", "k"]);
    await bare.close();
    assert.match(res.json.error, /NOAUTH/);
    await assert.rejects(
      // @ts-expect-error: the type only admits 127.0.0.1; check the runtime guard too
      startBridge({ redisPort: server.port, token: TOKEN, hostname: "0.0.0.0" }),
      /127\.0\.0\.1 only/,
    );
    const conn = await RespConnection.connect(server.port, { password });
    const names = ["bind", "protected-mode", "save", "appendonly"];
    const replies = await conn.send(names.map((name) => ["CONFIG", "GET", name]));
    await conn.close();
    const values = replies.map((r) => text((r as RespValue[])[1]));
    assert.deepEqual(values, ["127.0.0.1", "yes", "", "no"]);
  }, password);
  const generated = await startRedisServer({ password: true });
  await generated.stop();
  assert.match(generated.password ?? "", /^[0-9a-f]{48}$/);
});

Deno.test("the local runtime: a password on Redis, 0700 .data and a 0600 bridge.json", async () => {
  const root = await Deno.makeTempDir();
  // A world-readable leftover from an older version must not stay that way.
  await Deno.mkdir(`${root}/.data`);
  await Deno.chmod(`${root}/.data`, 0o755);
  await Deno.writeTextFile(`${root}/.data/bridge.json`, "{}", { mode: 0o644 });
  const local = await startLocalRedis({ root });
  try {
    assert.equal((await Deno.stat(`${root}/.data`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${root}/.data/bridge.json`)).mode! & 0o777, 0o600);
    const recorded = JSON.parse(await Deno.readTextFile(`${root}/.data/bridge.json`));
    assert.deepEqual(recorded, { url: local.url, token: local.token });
    const conn = await RespConnection.connect(local.redisPort);
    const [denied] = await conn.send([["PING"]]);
    await conn.close();
    assert.ok(denied instanceof RespError && /^NOAUTH/.test(denied.message), String(denied));
    const redis = new Redis({ url: local.url, token: local.token, enableTelemetry: false });
    assert.equal(await redis.ping(), "PONG");
  } finally {
    await local.stop();
  }
  await assert.rejects(Deno.stat(`${root}/.data/bridge.json`), Deno.errors.NotFound);
  await Deno.remove(root, { recursive: true });
});

const START = new URL("../dev/start.ts", import.meta.url).pathname;

/** `deno run dev/start.ts` in a scratch directory (its .data/ goes there), in its own group. */
function runStart(cwd: string, env: Record<string, string>) {
  const base = Deno.env.toObject();
  for (const k of ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "HOST", "PORT"]) {
    delete base[k];
  }
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", START],
    cwd,
    env: { ...base, NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true, // so we can signal its whole process group, as a terminal's Ctrl+C does
  });
}

/** Parent, process group, state and working directory of every process we may look at. */
function processes() {
  const found = [];
  for (const { name } of Deno.readDirSync("/proc")) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${name}/stat`);
      const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cwd = Deno.readLinkSync(`/proc/${name}/cwd`);
      found.push({ pid: Number(name), state, ppid: Number(ppid), pgrp: Number(pgrp), cwd });
    } catch { /* not a process, gone, or not ours to read */ }
  }
  return found;
}

Deno.test("deno task start: URL once listening; Ctrl+C stops it all in order, quietly", async () => {
  const { startOpenAIServer } = await import("./fixtures/model_servers.ts");
  const model = await startOpenAIServer();
  const cwd = await Deno.realPath(await Deno.makeTempDir());
  const port = freePort();
  const child = runStart(cwd, {
    PORT: String(port),
    MODEL_PROVIDER: "openai",
    OPENAI_BASE_URL: model.url,
    OPENAI_MODEL: "local",
  }).spawn();
  const lines: string[] = [];
  let listeningWhenPrinted: Promise<boolean> | undefined;
  const reading = (async () => {
    const decoder = new TextDecoderStream();
    for await (const chunk of child.stdout.pipeThrough(decoder)) {
      for (const line of chunk.split("\n")) {
        if (line.startsWith("chat at ")) {
          listeningWhenPrinted ??= Deno.connect({ hostname: "127.0.0.1", port })
            .then((c) => (c.close(), true), () => false);
        }
        lines.push(line);
      }
    }
  })();
  const stderr = new Response(child.stderr).text();
  try {
    await waitFor(() => listeningWhenPrinted !== undefined, () => lines.join("\n"), 60_000);
    assert.ok(lines.includes(`chat at http://127.0.0.1:${port}  (Ctrl+C stops everything)`));
    assert.equal(await listeningWhenPrinted, true, "the URL was printed before it listened");
    // web server, worker and redis-server, each out of reach of the terminal's Ctrl+C
    const kids = processes().filter((p) => p.ppid === child.pid);
    assert.equal(kids.length, 3, JSON.stringify(kids));
    assert.ok(kids.every((p) => p.pgrp === p.pid), JSON.stringify(kids));
    const redisPid = kids.find((p) => p.cwd === `${cwd}/.data/redis`)?.pid;
    Deno.kill(-child.pid, "SIGINT");
    const goneAt = new Map<number, number>();
    for (let tick = 0; goneAt.size < kids.length && tick < 30_000; tick++) {
      const live = processes().filter((p) => p.ppid === child.pid && p.state !== "Z");
      for (const k of kids) {
        if (!goneAt.has(k.pid) && !live.some((p) => p.pid === k.pid)) goneAt.set(k.pid, tick);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    const redisGone = goneAt.get(redisPid!)!;
    assert.ok(kids.every((k) => k.pid === redisPid || goneAt.get(k.pid)! < redisGone), "order");
    assert.equal((await child.status).code, 0);
    await reading;
    const errors = await stderr;
    // Redis dying under a live worker shows up as stack traces and connection errors.
    assert.doesNotMatch(errors, /^\s+at |error|refused|unavailable/im, errors);
    assert.ok(errors.split("\n").length < 5, errors);
    await assert.rejects(Deno.stat(`${cwd}/.data/bridge.json`), Deno.errors.NotFound);
  } finally {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await model.close();
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("deno task start on a busy port says so in one line and starts nothing", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const cwd = await Deno.makeTempDir();
  try {
    const out = await runStart(cwd, { PORT: String(taken.addr.port) }).output();
    const errors = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 1);
    assert.match(errors, new RegExp(`^port ${taken.addr.port} is in use; set PORT=\\S+`));
    assert.equal(errors.split("\n").length, 1, errors);
    assert.deepEqual([...Deno.readDirSync(cwd)], [], "nothing was started");
  } finally {
    taken.close();
    await Deno.remove(cwd, { recursive: true });
  }
});

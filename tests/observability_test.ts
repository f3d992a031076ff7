// One turn through a real web server and worker (child processes, LOG_FORMAT=json, LOG_LEVEL=debug):
// both log one "turn done" line carrying the WebSocket upgrade's x-request-id, nothing either
// process writes contains the session token, and both /metrics endpoints count the turn.
import assert from "node:assert/strict";
import { startBridge } from "../dev/bridge.ts";
import { freePort, startRedisServer } from "../dev/redis_server.ts";
import { startOpenAIServer } from "./fixtures/model_servers.ts";
import { ChatClient, newSession } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";
import { redact } from "../lib/log.ts";

const ROOT = new URL("../", import.meta.url);

/** A child process whose stdout and stderr are collected line by line. */
function spawn(script: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", script],
    cwd: ROOT,
    env: { NO_COLOR: "1", LOG_FORMAT: "json", LOG_LEVEL: "debug", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const bytes of stream) {
      const parts = (rest + decoder.decode(bytes, { stream: true })).split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts.filter(Boolean));
    }
    if (rest) lines.push(rest);
  };
  const done = Promise.all([collect(child.stdout), collect(child.stderr)]);
  return {
    lines,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await done;
    },
  };
}

const records = (lines: string[]) =>
  lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

Deno.test("a turn's log lines share its request id, never show its token, and are counted", async () => {
  const redisServer = await startRedisServer();
  const bridge = await startBridge({ redisPort: redisServer.port, token: crypto.randomUUID() });
  const model = await startOpenAIServer({ reply: "Hello there, Ada." });
  const port = freePort();
  const metricsPort = freePort();
  const env = {
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: bridge.token,
    HOST: "127.0.0.1",
    PORT: String(port),
    MODEL_PROVIDER: "openai",
    OPENAI_BASE_URL: model.url,
    OPENAI_MODEL: "local",
    WORKER_METRICS_PORT: String(metricsPort),
  };
  const web = spawn("main.ts", env);
  const worker = spawn("worker.ts", env);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        const res = await fetch(`${base}/api/health`).catch(() => null);
        await res?.body?.cancel();
        return res?.status === 200;
      },
      () =>
        "a web server with a ready worker; web:\n" + web.lines.slice(-20).join("\n") +
        "\nworker:\n" + worker.lines.slice(-20).join("\n"),
      30_000,
    );
    const token = await newSession(base);
    const client = await ChatClient.connect(base, token);
    client.send({ type: "message", id: "t-1", content: "Hi!" });
    await client.waitFor((f) => f.type === "done" && f.id === "t-1");
    client.close();
    const turnDone = (lines: string[]) =>
      records(lines).find((r) => r.msg === "turn done" && r.turn === "t-1");
    await waitFor(() => !!turnDone(web.lines) && !!turnDone(worker.lines), "turn done lines");

    const upgrade = records(web.lines).find((r) => r.msg === "request" && r.route === "/api/chat");
    const requestId = upgrade?.request_id;
    assert.ok(typeof requestId === "string" && requestId.length > 0, "the upgrade is logged");
    const webLine = turnDone(web.lines)!;
    const workerLine = turnDone(worker.lines)!;
    assert.equal(webLine.request_id, requestId);
    assert.equal(workerLine.request_id, requestId);
    assert.equal(webLine.outcome, "done");
    assert.equal(workerLine.outcome, "done");
    assert.ok(Number(workerLine.tokens) > 0);
    assert.equal(typeof workerLine.ms, "number");

    let webMetrics = "";
    // The socket's close reaches the server a moment after close() returns.
    await waitFor(async () => {
      webMetrics = await (await fetch(`${base}/metrics`)).text();
      return /chat_websockets_open 0/.test(webMetrics);
    }, () => `no open sockets:\n${webMetrics}`);
    assert.match(webMetrics, /chat_turns_total\{outcome="done"\} 1/);
    assert.match(webMetrics, /chat_turn_first_delta_seconds_count 1/);
    const workerMetrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(workerMetrics, /chat_worker_turns_total\{outcome="done"\} 1/);
    assert.match(workerMetrics, /chat_worker_model_first_token_seconds_count 1/);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).model_ready, true);

    await web.stop();
    await worker.stop();
    const everything = [...web.lines, ...worker.lines].join("\n");
    assert.ok(everything.length > 1000, "the processes logged something");
    assert.equal(everything.includes(token), false, "a log line contains the session token");
  } finally {
    await web.stop();
    await worker.stop();
    await model.close();
    await bridge.close();
    await redisServer.stop();
  }
});

Deno.test("redact hides tokens and session keys wherever they stand, and leaves the rest", () => {
  const token = "A".repeat(20) + "b_-9".repeat(5) + "xyz"; // 43 base64url characters
  assert.equal(redact(token), "<token>");
  assert.equal(redact(`token=${token}.`), "token=<token>.");
  assert.equal(redact(`EVALSHA on chat:r:${token} failed`), "EVALSHA on chat:r:<token> failed");
  assert.equal(redact("chat:s:short"), "chat:s:<token>", "a key is hidden even when short");
  assert.equal(redact(token + "A"), token + "A", "44 characters are not a token");
  for (
    const plain of ["turn queued", "b3c1d8a2-0000-4000-8000-000000000000", "w-host-1-ab12", ""]
  ) {
    assert.equal(redact(plain), plain);
  }
});

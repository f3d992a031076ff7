// What one client, a broken worker or a failing Redis must never do to others (the security and
// faults issue): each test fails on the code before its fix.
import assert from "node:assert/strict";
import { SOCKET_IDLE_TIMEOUT_S } from "../lib/server/limits.ts";
import {
  assertDone,
  doneOf,
  fetchHistory,
  framesFor,
  replyText,
  sendTurn,
} from "./support/chat.ts";
import { ChatClient, newSession, type Stack, startStack } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const LONG = Array.from({ length: 120 }, (_, i) => `word${i}`).join(" ") + ".";
const TOKEN = /[A-Za-z0-9_-]{43}/;

let stack: Stack;
Deno.test.beforeAll(async () => {
  stack = await startStack({
    tokenDelayMs: 40,
    reply: (body) => body.messages.at(-1)?.content.startsWith("long") ? LONG : "Short answer.",
    env: { SESSION_RATE_LIMIT_PER_MINUTE: "3", TRUST_PROXY: "1" },
  });
});
Deno.test.afterAll(async () => {
  await stack?.stop();
});

/** POST /api/token as a client behind our trusted proxy at `address`. */
const mint = (address: string) =>
  fetch(`${stack.baseUrl}/api/token`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": address },
    body: JSON.stringify({ name: "Ada" }),
  });

async function session(address = crypto.randomUUID()): Promise<string> {
  const res = await mint(address);
  assert.equal(res.status, 201);
  return (await res.json()).token;
}

Deno.test(
  "a resume beyond Redis's 64-bit ids is refused and never stalls other sockets",
  opts,
  async () => {
    const attacker = await ChatClient.connect(stack.baseUrl, await session());
    const victim = await ChatClient.connect(stack.baseUrl, await session());
    for (const after of ["99999999999999999999-0", "18446744073709551616-0"]) {
      attacker.send({ type: "resume", after });
      const error = await attacker.waitFor((f) => f.type === "error");
      assert.equal(error.type === "error" && error.code, "invalid_frame");
      attacker.frames.length = 0;
    }
    const done = await sendTurn(victim, "v1", "hello");
    assertDone(done, stack.logs); // the other socket still gets its reply
    attacker.close();
    victim.close();
  },
);

Deno.test("turn ids cannot name the server's own fields", opts, async () => {
  const client = await ChatClient.connect(stack.baseUrl, await session());
  for (const id of ["t1:stop", "u1:a", "a b", "x/y"]) {
    client.send({ type: "message", id, content: "hi" });
    const error = await client.waitFor((f) => f.type === "error");
    assert.equal(error.type === "error" && error.code, "invalid_frame", id);
    client.frames.length = 0;
  }
  client.close();
});

Deno.test(
  "new sessions are limited per client address, and only the proxy's hop counts",
  opts,
  async () => {
    for (let i = 0; i < 3; i++) assert.equal((await mint("198.51.100.7")).status, 201);
    const refused = await mint("198.51.100.7");
    assert.equal(refused.status, 429);
    assert.equal((await refused.json()).error.code, "rate_limited");
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    // A client cannot escape its bucket by writing its own X-Forwarded-For entries first.
    const spoofed = await mint("203.0.113.9, 198.51.100.7");
    assert.equal(spoofed.status, 429);
    await spoofed.body?.cancel();
    const other = await mint("198.51.100.8");
    assert.equal(other.status, 201, "another address has its own allowance");
    await other.body?.cancel();
  },
);

Deno.test(
  "request bodies are limited before they are read: 413 in the JSON error shape",
  opts,
  async () => {
    const big = JSON.stringify({ name: "A", pad: "x".repeat(1024 * 1024) });
    const declared = await fetch(`${stack.baseUrl}/api/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    assert.equal(declared.status, 413);
    assert.equal((await declared.json()).error.code, "payload_too_large");
    // Chunked, with no Content-Length: counted while it streams.
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 64; i++) c.enqueue(new TextEncoder().encode("x".repeat(16 * 1024)));
        c.close();
      },
    });
    const streamed = await fetch(`${stack.baseUrl}/api/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunks,
    });
    assert.equal(streamed.status, 413);
    assert.equal((await streamed.json()).error.code, "payload_too_large");
  },
);

/** The status line a raw WebSocket upgrade with this Origin gets. */
async function upgradeStatus(origin: string | null, token: string): Promise<string> {
  const url = new URL(stack.baseUrl);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const lines = [
    `GET /api/chat?token=${token} HTTP/1.1`,
    `Host: ${url.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...(origin ? [`Origin: ${origin}`] : []),
  ];
  await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
  const buf = new Uint8Array(512);
  const n = await conn.read(buf);
  conn.close();
  return new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
}

Deno.test("a page from another origin cannot open a chat socket", opts, async () => {
  const token = await session();
  assert.match(await upgradeStatus("https://evil.example", token), / 403 /);
  assert.match(await upgradeStatus(stack.baseUrl, token), / 101 /);
  assert.match(await upgradeStatus(null, token), / 101 /, "scripts send no Origin");
});

Deno.test(
  "a provider's error reaches the visitor in plain words, the details only the log",
  opts,
  async () => {
    const failing = await startStack({
      status: 401,
      errorBody: { error: { message: "Incorrect API key provided: sk-abc" } },
    });
    try {
      const client = await ChatClient.connect(failing.baseUrl, await newSession(failing.baseUrl));
      const error = await sendTurn(client, "e1", "hello");
      assert.equal(error.type, "error");
      assert.equal(error.type === "error" && error.code, "model_error");
      assert.doesNotMatch(
        error.type === "error" ? error.message : "",
        /401|API key|127\.0\.0\.1|http/,
      );
      await waitFor(() => failing.logs().includes("Incorrect API key"), "the details in the log");
      client.close();
    } finally {
      await failing.stop();
    }
  },
);

Deno.test(
  "the only worker dies mid-reply: an error within the claim time, the text kept",
  opts,
  async () => {
    const token = await session();
    const client = await ChatClient.connect(stack.baseUrl, token);
    client.send({ type: "message", id: "d1", content: "long story" });
    await client.waitFor(() => framesFor(client, "d1", "delta").length >= 3);
    await stack.workers.shift()!.kill();
    const killedAt = Date.now();
    const error = await client.waitFor((f) => f.type === "error" && f.id === "d1", 15_000);
    const waited = Date.now() - killedAt;
    console.log(`error after the worker died: ${waited} ms (claim idle 2000 ms)`);
    assert.ok(waited < 2000 + 6000, `${waited} ms`);
    assert.equal(error.type === "error" && error.code, "model_error");
    const seen = replyText(client.frames, "d1");
    const messages = (await fetchHistory(stack.baseUrl, token)).messages;
    assert.deepEqual(messages.map((m) => m.role), ["user", "assistant"]);
    assert.equal(messages[1].content, seen, "what the user saw is what history keeps");
    // A worker that comes back later cannot replace it.
    await stack.startWorker();
    await new Promise((r) => setTimeout(r, 4000));
    const after = (await fetchHistory(stack.baseUrl, token)).messages;
    assert.deepEqual(after, messages);
    client.close();
  },
);

Deno.test("Stop ends a reply within 2 s even when no worker is left", opts, async () => {
  const token = await session();
  const client = await ChatClient.connect(stack.baseUrl, token);
  client.send({ type: "message", id: "s1", content: "long again" });
  await client.waitFor(() => framesFor(client, "s1", "delta").length >= 3);
  await stack.workers.shift()!.kill();
  const seen = replyText(client.frames, "s1");
  const stopAt = Date.now();
  client.send({ type: "stop", id: "s1" });
  const done = await client.waitFor(doneOf("s1"), 5000);
  const took = Date.now() - stopAt;
  console.log(`stop with no worker ended the reply in ${took} ms`);
  assert.ok(took < 2000, `${took} ms`);
  assert.equal(done.stopped, true);
  assert.equal(done.message.content, seen);
  assert.equal((await fetchHistory(stack.baseUrl, token)).messages[1].content, seen);
  client.close();
  await stack.startWorker();
});

Deno.test("a worker that cannot answer takes no turns from one that can", opts, async () => {
  await stack.startWorker({ MODEL_PROVIDER: "llama", MODEL_PATH: "/nonexistent/model.gguf" });
  await waitFor(() => stack.logs().includes("model unavailable"), "the broken worker", 20_000);
  const client = await ChatClient.connect(stack.baseUrl, await session());
  const ends = [];
  for (let i = 0; i < 10; i++) ends.push(sendTurn(client, `w${i}`, `hello ${i}`));
  const outcomes = await Promise.all(ends);
  assert.deepEqual(outcomes.map((f) => f.type), Array(10).fill("done"));
  client.close();
});

Deno.test(
  "a socket stalled in the middle of a frame is closed, not held forever",
  opts,
  async () => {
    const url = new URL(stack.baseUrl);
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    const upgrade = [
      `GET /api/chat?token=${await session()} HTTP/1.1`,
      `Host: ${url.host}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
    ];
    await conn.write(new TextEncoder().encode(upgrade.join("\r\n") + "\r\n\r\n"));
    const buf = new Uint8Array(4096);
    assert.match(new TextDecoder().decode(buf.subarray(0, await conn.read(buf) ?? 0)), / 101 /);
    // A masked text frame announcing 100 bytes, of which only 10 ever come.
    await conn.write(new Uint8Array([0x81, 0x80 | 100, 1, 2, 3, 4, ...Array(10).fill(5)]));
    const started = Date.now();
    while (await conn.read(buf).catch(() => null) !== null) { /* pings, then the close */ }
    const waited = Date.now() - started;
    console.log(`stalled socket closed after ${waited} ms`);
    assert.ok(waited < (SOCKET_IDLE_TIMEOUT_S + 15) * 1000, `${waited} ms`);
    conn.close();
  },
);

Deno.test("no log line carries a session token or a key made from one", opts, async () => {
  const client = await ChatClient.connect(stack.baseUrl, await session());
  await sendTurn(client, "l1", "hello");
  // Redis going away makes the relay and the worker log their failing commands (which name the
  // session's keys): a resume makes the relay read the reply stream now.
  await stack.redisServer.stop();
  client.send({ type: "resume", after: "0-0" });
  await waitFor(() => /reading replies failed/.test(stack.logs()), "the relay to log a failure");
  client.close();
  const logs = stack.logs();
  const leaked = logs.split("\n").filter((line) =>
    TOKEN.test(line) || /chat:[a-z]+:[A-Za-z0-9_-]{20}/.test(line)
  );
  assert.deepEqual(leaked, []);
  assert.match(logs, /chat:r:<token>/, "the failing command was logged, with its key redacted");
  for (const line of logs.split("\n").filter((l) => l.startsWith("{"))) {
    assert.doesNotThrow(() => JSON.parse(line), line);
  }
});

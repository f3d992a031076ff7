// The pipeline with the other providers: GPT-J over TGI streaming, and no model at all.
import assert from "node:assert/strict";
import { History } from "../lib/contract/payloads.ts";
import { assertDone, replyText, sendTurn } from "./support/chat.ts";
import { startTGIServer } from "./fixtures/model_servers.ts";
import { waitFor } from "./support/wait.ts";
import { ChatClient, newSession, startStack } from "./support/stack.ts";
import { writeTestModel } from "./fixtures/make_test_model.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("huggingface (TGI streaming): a turn streams and lands in history", opts, async () => {
  const tgi = await startTGIServer({ reply: "GPT-J says hello back to you.", tokenDelayMs: 10 });
  const stack = await startStack({
    modelEnv: { MODEL_PROVIDER: "huggingface", HF_API_URL: tgi.url },
  });
  try {
    const health = await (await fetch(`${stack.baseUrl}/api/health`)).json();
    assert.equal(health.status, "ok");
    assert.match(health.model, /^huggingface\//);
    const token = await newSession(stack.baseUrl);
    const client = await ChatClient.connect(stack.baseUrl, token);
    const done = await sendTurn(client, "h1", "Hi GPT-J");
    assertDone(done, stack.logs);
    assert.equal(done.message.content, "GPT-J says hello back to you.");
    assert.ok(client.frames.filter((f) => f.type === "delta").length >= 3);
    assert.equal(replyText(client.frames, "h1"), "GPT-J says hello back to you.");
    // The seed's conversational prompt reached the model.
    const body = tgi.requests.find((r) => r.path.endsWith("/generate_stream"))!.body as {
      inputs: string;
    };
    assert.match(body.inputs, /Human: Hi GPT-J\nBot:$/);
    client.close();
  } finally {
    await stack.stop();
    await tgi.close();
  }
});

Deno.test(
  "no model: health says how to fix it and a turn gets model_unavailable",
  opts,
  async () => {
    const stack = await startStack({
      modelEnv: { MODEL_PROVIDER: "llama", MODEL_PATH: "/nonexistent/model.gguf" },
      allowNoModel: true,
    });
    try {
      const res = await fetch(`${stack.baseUrl}/api/health`);
      assert.equal(res.status, 503);
      const health = await res.json();
      assert.equal(health.status, "degraded");
      assert.equal(health.redis, "ok");
      assert.match(health.detail, /deno task model|MODEL_PATH/);
      const client = await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
      client.send({ type: "message", id: "m1", content: "hello?" });
      const error = await client.waitFor((f) => f.id === "m1", 5000);
      assert.equal(error.type, "error");
      assert.equal(error.code, "model_unavailable");
      assert.ok(client.open, "the socket stays open");
      client.close();
    } finally {
      await stack.stop();
    }
  },
);

Deno.test("a provider error reaches the user as an error frame", opts, async () => {
  const stack = await startStack({
    status: 500,
    errorBody: { error: { message: "upstream exploded" } },
  });
  try {
    const token = await newSession(stack.baseUrl);
    const client = await ChatClient.connect(stack.baseUrl, token);
    const error = await sendTurn(client, "e1", "hello");
    assert.equal(error.type, "error");
    assert.equal(error.code, "model_error");
    // Visitors read a plain sentence; the provider's own words are for the operator's log.
    assert.doesNotMatch(error.message, /upstream exploded|500/);
    assert.ok(error.message.length > 10, error.message);
    await waitFor(() => stack.logs().includes("upstream exploded"), "the details in the log");
    assert.ok(client.open);
    // The user's message was accepted and stays in history.
    const history = History.parse(
      await (await fetch(`${stack.baseUrl}/api/history?token=${token}`)).json(),
    );
    assert.deepEqual(history.messages.map((m) => m.content), ["hello"]);
    client.close();
  } finally {
    await stack.stop();
  }
});

Deno.test("rate limiting answers rate_limited and queues nothing", opts, async () => {
  const stack = await startStack({ env: { RATE_LIMIT_PER_MINUTE: "2" } });
  try {
    const token = await newSession(stack.baseUrl);
    const client = await ChatClient.connect(stack.baseUrl, token);
    assertDone(await sendTurn(client, "a", "one"), stack.logs);
    assertDone(await sendTurn(client, "b", "two"), stack.logs);
    const third = await sendTurn(client, "c", "three");
    assert.equal(third.type, "error");
    assert.equal(third.code, "rate_limited");
    const history = History.parse(
      await (await fetch(`${stack.baseUrl}/api/history?token=${token}`)).json(),
    );
    assert.equal(history.messages.length, 4);
    client.close();
  } finally {
    await stack.stop();
  }
});

Deno.test(
  "the embedded model end to end: worker + llama.cpp on a generated GGUF",
  opts,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "chat-llama-e2e-" });
    const modelPath = `${dir}/tiny.gguf`;
    await writeTestModel(modelPath, "tiny");
    const stack = await startStack({
      modelEnv: {
        MODEL_PROVIDER: "llama",
        MODEL_PATH: modelPath,
        MAX_NEW_TOKENS: "40",
        LLAMA_CONTEXT_SIZE: "1024",
        LLAMA_THREADS: "1",
      },
    });
    try {
      const health = await (await fetch(`${stack.baseUrl}/api/health`)).json();
      assert.equal(health.model, "llama/tiny");
      const token = await newSession(stack.baseUrl);
      const client = await ChatClient.connect(stack.baseUrl, token);
      const done = await sendTurn(client, "l1", "Hello, little model");
      assert.equal(done.type, "done", JSON.stringify(done));
      const content = done.message.content;
      assert.ok(content.length > 0);
      assert.ok(client.frames.filter((f) => f.type === "delta").length >= 2);
      assert.equal(replyText(client.frames, "l1"), content);
      const history = History.parse(
        await (await fetch(`${stack.baseUrl}/api/history?token=${token}`)).json(),
      );
      assert.deepEqual(history.messages.map((m) => m.role), ["user", "assistant"]);
      client.close();
    } finally {
      await stack.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

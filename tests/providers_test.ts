// The remote providers against local servers that speak the real OpenAI, TGI and Inference API
// protocols (readiness probes included), plus the context window and prompt builders they share.
// Stop, timeout and empty-answer behaviour common to every provider is in providers_parity_test.ts.
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import type { Message } from "../lib/contract/frames.ts";
import { humanBotPrompt, recentWithinBudget } from "../lib/providers/context.ts";
import { unreachableReason } from "../lib/providers/endpoint.ts";
import {
  chatCompletionsBase,
  createHuggingFaceProvider,
  HF_ROUTER_URL,
} from "../lib/providers/huggingface.ts";
import { ReplyCutter } from "../lib/providers/reply_cutter.ts";
import { createOpenAIProvider } from "../lib/providers/openai.ts";
import { sseData } from "../lib/providers/sse.ts";
import { ModelError, type ModelProvider, ModelUnavailableError } from "../lib/providers/types.ts";
import {
  type ModelServer,
  type OpenAIRequestBody,
  splitReply,
  startLegacyHFServer,
  startOpenAIServer,
  startTGIServer,
  type TextGenerationBody,
} from "./fixtures/model_servers.ts";
import { waitFor } from "./support/wait.ts";

let seq = 0;
function msg(role: Message["role"], content: string): Message {
  return { id: `m${++seq}`, role, content, timestamp: new Date(0).toISOString() };
}

async function collect(
  provider: ModelProvider,
  messages: Message[],
  signal = new AbortController().signal,
): Promise<string[]> {
  const pieces: string[] = [];
  for await (const piece of provider.generate({ messages, signal })) pieces.push(piece);
  return pieces;
}

/** The shared waitFor, polled often: these waits are for a local server to notice a cut. */
const until = (check: () => boolean, what: string, ms = 3000) =>
  waitFor(check, what, ms, { intervalMs: 10 });

/** Runs `fn` with a server that is closed afterwards, whatever happens. */
async function withServer(server: Promise<ModelServer>, fn: (s: ModelServer) => Promise<void>) {
  const s = await server;
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

const openai = (server: ModelServer, env: Record<string, string> = {}) =>
  createOpenAIProvider(loadConfig({
    OPENAI_BASE_URL: server.url,
    OPENAI_MODEL: "test-model",
    MODEL_TIMEOUT_MS: "3000",
    ...env,
  }));

const hf = (url: string, env: Record<string, string> = {}) =>
  createHuggingFaceProvider(loadConfig({ HF_API_URL: url, MODEL_TIMEOUT_MS: "3000", ...env }));

// ---- context ----

Deno.test("recentWithinBudget keeps the most recent messages that fit, oldest first", () => {
  const all = [
    msg("user", "aaaa"),
    msg("assistant", "bbbb"),
    msg("user", "cc"),
    msg("assistant", "d"),
  ];
  assert.deepEqual(recentWithinBudget(all, 100), all);
  assert.deepEqual(recentWithinBudget(all, 7).map((m) => m.content), ["bbbb", "cc", "d"]);
  // Exactly at the budget still fits.
  assert.deepEqual(recentWithinBudget(all, 11), all);
  assert.deepEqual(recentWithinBudget(all, 10).map((m) => m.content), ["bbbb", "cc", "d"]);
  assert.deepEqual(recentWithinBudget([], 10), []);
});

Deno.test("recentWithinBudget stops at the first message that does not fit (no holes)", () => {
  const all = [msg("user", "a"), msg("assistant", "x".repeat(50)), msg("user", "b")];
  assert.deepEqual(recentWithinBudget(all, 10).map((m) => m.content), ["b"]);
});

Deno.test("recentWithinBudget truncates an over-long last message from its start", () => {
  const last = msg("user", "0123456789");
  const input = [msg("assistant", "old"), last];
  const kept = recentWithinBudget(input, 4);
  assert.equal(kept.length, 1);
  assert.equal(kept[0].content, "6789");
  assert.equal(kept[0].id, last.id);
  assert.equal(last.content, "0123456789", "the input is not mutated");
  assert.deepEqual(recentWithinBudget([last], 0).map((m) => m.content), [""]);
});

Deno.test("humanBotPrompt lays the conversation out as Human:/Bot: lines ending with Bot:", () => {
  const prompt = humanBotPrompt(
    [msg("user", "Hi there"), msg("assistant", "Hello!"), msg("user", "How are you?")],
    "Be nice.",
  );
  assert.equal(prompt, "Be nice.\n\nHuman: Hi there\nBot: Hello!\nHuman: How are you?\nBot:");
  assert.equal(humanBotPrompt([msg("user", "x")]), "Human: x\nBot:");
});

Deno.test("sseData handles CRLF split across chunks, multi-line data and comments", async () => {
  const parts = [
    ": keep-alive\r",
    "\n",
    "data: one\r",
    "\n\r\ndata: two\ndata:three\n\n",
    "data: tail",
  ];
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) c.enqueue(new TextEncoder().encode(p));
      c.close();
    },
  });
  const seen: string[] = [];
  for await (const data of sseData(body)) seen.push(data);
  assert.deepEqual(seen, ["one", "two\nthree", "tail"]);
});

// ---- OpenAI-compatible ----

Deno.test("openai streams the reply in pieces, in order", async () => {
  const reply = "The quick brown fox jumps over the lazy dog.";
  await withServer(startOpenAIServer({ reply, tokenDelayMs: 5 }), async (server) => {
    const pieces = await collect(openai(server), [msg("user", "hello")]);
    assert.deepEqual(pieces, splitReply(reply));
    assert.ok(pieces.length >= 9);
    assert.equal(pieces.join(""), reply);
    assert.equal(server.completed, 1);
  });
});

Deno.test("openai sends the system prompt, the budgeted context, the model and max_tokens", async () => {
  await withServer(startOpenAIServer(), async (server) => {
    const provider = openai(
      { ...server, url: server.url + "/" }, // a trailing slash is tolerated
      {
        SYSTEM_PROMPT: "You are terse.",
        CONTEXT_MAX_CHARS: "20",
        MAX_NEW_TOKENS: "77",
        OPENAI_API_KEY: "sk-test",
      },
    );
    const history = [
      msg("user", "an old question that no longer fits"),
      msg("assistant", "old answer"),
      msg("user", "what now?"),
    ];
    const pieces = await collect(provider, history);
    assert.equal(pieces.join(""), "You said: what now?");
    assert.equal(server.requests.length, 1);
    const { path, body, headers } = server.requests[0];
    assert.equal(path, "/v1/chat/completions");
    assert.equal(headers.authorization, "Bearer sk-test");
    const sent = body as OpenAIRequestBody;
    assert.equal(sent.model, "test-model");
    assert.equal(sent.stream, true);
    assert.equal(sent.max_tokens, 77);
    assert.deepEqual(sent.messages, [
      { role: "system", content: "You are terse." },
      { role: "assistant", content: "old answer" },
      { role: "user", content: "what now?" },
    ]);
  });
});

Deno.test("openai sends no Authorization header without a key; name and ready()", async () => {
  await withServer(startOpenAIServer({ reply: "ok" }), async (server) => {
    const provider = openai(server);
    assert.equal(provider.name, "openai/test-model");
    await provider.ready();
    assert.equal((await collect(provider, [msg("user", "x")])).join(""), "ok");
    assert.equal(server.requests[0].headers.authorization, undefined);
  });
  const unkeyed = createOpenAIProvider(loadConfig({ MODEL_PROVIDER: "openai" }));
  await assert.rejects(unkeyed.ready(), ModelUnavailableError);
  const bad = createOpenAIProvider(loadConfig({ OPENAI_BASE_URL: "not a url" }));
  await assert.rejects(bad.ready(), ModelUnavailableError);
});

Deno.test("openai turns an API error into a ModelError carrying status and message", async () => {
  const errorBody = {
    error: {
      message: "Incorrect API key provided: sk-bad.",
      type: "invalid_request_error",
      param: null,
      code: "invalid_api_key",
    },
  };
  await withServer(startOpenAIServer({ status: 401, errorBody }), async (server) => {
    const err = await collect(openai(server), [msg("user", "x")]).then(() => null, (e) => e);
    assert.ok(err instanceof ModelError, String(err));
    assert.match(err.message, /401/);
    assert.match(err.message, /Incorrect API key provided: sk-bad\./);
  });
});

Deno.test("openai's timeout is an idle timeout: a slow but steady stream completes", async () => {
  const reply = "one two three four five six seven eight";
  await withServer(startOpenAIServer({ reply, tokenDelayMs: 60 }), async (server) => {
    const started = Date.now();
    const pieces = await collect(openai(server, { MODEL_TIMEOUT_MS: "250" }), [msg("user", "x")]);
    assert.equal(pieces.join(""), reply);
    assert.ok(Date.now() - started > 250, "the whole answer took longer than the idle timeout");
  });
});

Deno.test("openai reports an unreachable server as a ModelError saying why", async () => {
  const server = await startOpenAIServer();
  await server.close();
  await assert.rejects(collect(openai(server), [msg("user", "x")]), (e: Error) => {
    assert.ok(e instanceof ModelError, String(e));
    assert.equal(e.message, `cannot reach the model server at ${server.url} (connection refused)`);
    return true;
  });
});

// ---- Hugging Face: TGI ----

Deno.test("huggingface streams from TGI /generate_stream with a Human:/Bot: prompt", async () => {
  await withServer(startTGIServer({ tokenDelayMs: 5 }), async (server) => {
    const provider = hf(server.url, {
      HF_API_TOKEN: "hf_test",
      MAX_NEW_TOKENS: "64",
      SYSTEM_PROMPT: "Be kind.",
    });
    assert.equal(provider.name, "huggingface/gpt-j");
    await provider.ready();
    const history = [msg("user", "Hi"), msg("assistant", "Hello!"), msg("user", "Tell me a joke")];
    const pieces = await collect(provider, history);
    assert.deepEqual(pieces, ["You", " said:", " Tell", " me", " a", " joke"]);
    assert.ok(!pieces.join("").includes("endoftext"), "special tokens are skipped");
    assert.deepEqual(server.requests.map((r) => r.path), ["/health", "/generate_stream"]);
    assert.equal(server.requests[0].headers.authorization, "Bearer hf_test");
    const { path, body, headers } = server.requests[1];
    assert.equal(path, "/generate_stream");
    assert.equal(headers.authorization, "Bearer hf_test");
    const sent = body as TextGenerationBody;
    assert.equal(sent.inputs, "Be kind.\n\nHuman: Hi\nBot: Hello!\nHuman: Tell me a joke\nBot:");
    assert.equal(sent.parameters?.return_full_text, false);
    assert.equal(sent.parameters?.max_new_tokens, 64);
    assert.deepEqual(sent.parameters?.stop, ["\nHuman:"]);
  });
});

Deno.test("huggingface cuts the reply where the model starts the human's next line", async () => {
  const reply = "Sure, here it is.\nHuman: thanks\nBot: you are welcome and more and more";
  // A server that honours `stop` ends on the marker; one that ignores it runs on and is cut off.
  await withServer(startTGIServer({ reply }), async (server) => {
    assert.equal((await collect(hf(server.url), [msg("user", "x")])).join(""), "Sure, here it is.");
    assert.equal(server.completed, 1);
  });
  await withServer(
    startTGIServer({ reply, ignoreStop: true, tokenDelayMs: 20 }),
    async (server) => {
      assert.equal(
        (await collect(hf(server.url), [msg("user", "x")])).join(""),
        "Sure, here it is.",
      );
      await until(() => server.aborted === 1, "the provider to hang up on the run-on");
      assert.equal(server.completed, 0);
    },
  );
});

Deno.test("ReplyCutter holds back what may be the marker until it knows", () => {
  const cut = new ReplyCutter();
  assert.equal(cut.push(" Hello"), "Hello");
  assert.equal(cut.push(" there\nHu"), " there");
  assert.equal(cut.push("go"), "\nHugo");
  assert.equal(cut.push("\n"), "");
  assert.equal(cut.push("Hum"), "");
  assert.equal(cut.push("an: more"), "");
  assert.ok(cut.finished);
  assert.equal(cut.end(), "");

  const opening = new ReplyCutter();
  assert.equal(opening.push("Human: hi"), "");
  assert.ok(opening.finished);

  const trailing = new ReplyCutter();
  assert.equal(trailing.push("Done.  \n"), "Done.");
  assert.equal(trailing.end(), "");
});

Deno.test("huggingface maps TGI errors and whitespace-only answers to ModelError", async () => {
  const errorBody = {
    error: "Input validation error: `inputs` must have less than 1024 tokens",
    error_type: "validation",
  };
  await withServer(startTGIServer({ status: 422, errorBody }), async (server) => {
    await assert.rejects(collect(hf(server.url), [msg("user", "x")]), (e: Error) => {
      assert.ok(e instanceof ModelError);
      assert.match(e.message, /422/);
      assert.match(e.message, /must have less than 1024 tokens/);
      return true;
    });
  });
  await withServer(startTGIServer({ reply: "   " }), async (server) => {
    await assert.rejects(
      collect(hf(server.url), [msg("user", "x")]),
      (e: Error) => e instanceof ModelError && /empty answer/.test(e.message),
    );
  });
});

// ---- Hugging Face: classic Inference API ----

Deno.test("huggingface falls back to the classic JSON API and remembers it", async () => {
  await withServer(startLegacyHFServer(), async (server) => {
    const provider = hf(server.url);
    const first = await collect(provider, [msg("user", "first question")]);
    assert.equal(first.join(""), "You said: first question");
    assert.deepEqual(server.requests.map((r) => r.path), ["/generate_stream", "/"]);
    const sent = server.requests[1].body as TextGenerationBody;
    assert.match(sent.inputs, /\nHuman: first question\nBot:$/);
    assert.equal(sent.parameters?.return_full_text, false);
    assert.deepEqual(sent.options, { wait_for_model: true });

    const second = await collect(provider, [msg("user", "again")]);
    assert.equal(second.join(""), "You said: again");
    assert.deepEqual(server.requests.map((r) => r.path), ["/generate_stream", "/", "/"]);
  });
});

Deno.test("huggingface goes straight to an Inference API model URL and names the model", async () => {
  await withServer(startLegacyHFServer({ modelId: "EleutherAI/gpt-j-6b" }), async (server) => {
    const provider = hf(server.url);
    assert.equal(provider.name, "huggingface/EleutherAI/gpt-j-6b");
    const reply = await collect(provider, [msg("user", "hey")]);
    assert.equal(reply.join(""), "You said: hey");
    assert.deepEqual(server.requests.map((r) => r.path), ["/models/EleutherAI/gpt-j-6b"]);
  });
});

Deno.test("huggingface reports a loading model (503) clearly", async () => {
  await withServer(
    startLegacyHFServer({ loading: true, modelId: "EleutherAI/gpt-j-6b" }),
    async (server) => {
      await assert.rejects(collect(hf(server.url), [msg("user", "x")]), (e: Error) => {
        assert.ok(e instanceof ModelError);
        assert.match(e.message, /loading/);
        assert.match(e.message, /20 s/);
        return true;
      });
    },
  );
});

Deno.test("huggingface cuts a run-on classic answer and rejects an empty one", async () => {
  await withServer(
    startLegacyHFServer({ reply: " Fine, thanks.\nHuman: and you?", ignoreStop: true }),
    async (server) => {
      assert.equal((await collect(hf(server.url), [msg("user", "x")])).join(""), "Fine, thanks.");
    },
  );
  await withServer(startLegacyHFServer({ reply: "" }), async (server) => {
    await assert.rejects(
      collect(hf(server.url), [msg("user", "x")]),
      (e: Error) => e instanceof ModelError && /empty answer/.test(e.message),
    );
  });
});

Deno.test("huggingface abandons a slow classic request on abort; the server sees it", async () => {
  await withServer(startLegacyHFServer({ firstTokenDelayMs: 5000 }), async (server) => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    const started = Date.now();
    assert.deepEqual(await collect(hf(server.url), [msg("user", "x")], stop.signal), []);
    assert.ok(Date.now() - started < 2000);
    await until(() => server.aborted === 1, "the server to notice the disconnect");
  });
});

// ---- readiness: ready() asks the server, cheaply ----

/** A TCP port that accepts connections and never answers. */
function silentPort(): { url: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${listener.addr.port}/v1`,
    close() {
      for (const conn of held) conn.close();
      listener.close();
    },
  };
}

const rejectsWith = (pattern: RegExp) => (e: Error) => {
  assert.ok(e instanceof ModelUnavailableError, String(e));
  assert.match(e.message, pattern);
  return true;
};

Deno.test("openai ready(): a closed port or a silent server is 'cannot reach'", async () => {
  const server = await startOpenAIServer();
  await server.close();
  await assert.rejects(
    openai(server).ready(),
    rejectsWith(
      new RegExp(
        `^cannot reach the model server at ${server.url} \\(connection refused\\); ` +
          "is it running, and is OPENAI_BASE_URL right\\?$",
      ),
    ),
  );
  const silent = silentPort();
  try {
    const started = Date.now();
    const provider = createOpenAIProvider(
      loadConfig({ OPENAI_BASE_URL: silent.url, MODEL_TIMEOUT_MS: "300" }),
    );
    await assert.rejects(provider.ready(), rejectsWith(/no answer within 300 ms/));
    assert.ok(Date.now() - started < 2000, "the probe is bounded");
  } finally {
    silent.close();
  }
});

Deno.test("openai ready(): 401 is a rejected key, naming OPENAI_API_KEY", async () => {
  await withServer(startOpenAIServer({ apiKey: "sk-right" }), async (server) => {
    await assert.rejects(
      openai(server, { OPENAI_API_KEY: "sk-wrong" }).ready(),
      rejectsWith(
        /^the model server at .* rejected the API key \(OPENAI_API_KEY\): 401 Incorrect API key/,
      ),
    );
    await assert.rejects(
      openai(server).ready(),
      rejectsWith(/requires an API key: set OPENAI_API_KEY \(401/),
    );
    await openai(server, { OPENAI_API_KEY: "sk-right" }).ready();
    assert.equal(server.requests.at(-1)?.path, "/v1/models");
    assert.equal(server.requests.at(-1)?.headers.authorization, "Bearer sk-right");
  });
});

Deno.test("openai ready(): a server without /models (404) or failing it (500) is ready", async () => {
  await withServer(startOpenAIServer({ noModelsRoute: true }), async (server) => {
    await openai(server).ready();
    assert.deepEqual(server.requests.map((r) => r.path), ["/v1/models"]);
  });
  const broken = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("oops", { status: 500 }),
  );
  try {
    const base = `http://127.0.0.1:${broken.addr.port}/v1`;
    await createOpenAIProvider(loadConfig({ OPENAI_BASE_URL: base })).ready();
  } finally {
    await broken.shutdown();
  }
});

Deno.test("huggingface ready(): probes TGI's /health, with the same verdicts", async () => {
  await withServer(startTGIServer({ apiKey: "hf_right" }), async (server) => {
    await assert.rejects(
      hf(server.url, { HF_API_TOKEN: "hf_wrong" }).ready(),
      rejectsWith(/rejected the API key \(HF_API_TOKEN\): 401 Authorization header is invalid/),
    );
    await hf(server.url, { HF_API_TOKEN: "hf_right" }).ready();
    assert.deepEqual(server.requests.map((r) => r.path), ["/health", "/health"]);
    await server.close();
    await assert.rejects(
      hf(server.url).ready(),
      rejectsWith(
        /^cannot reach the Hugging Face endpoint at .* \(connection refused\); .*HF_API_URL/,
      ),
    );
  });
  // The classic model URL has no /health: any answer shows the server is there.
  await withServer(startLegacyHFServer({ modelId: "EleutherAI/gpt-j-6b" }), async (server) => {
    await hf(server.url).ready();
    assert.deepEqual(server.requests.map((r) => r.path), ["/models/EleutherAI/gpt-j-6b"]);
  });
});

/** Sends what the provider addresses to the Hugging Face router to `server` instead. */
function routerTo(server: ModelServer): typeof fetch {
  return (input, init) => fetch(String(input).replace(HF_ROUTER_URL, server.url), init);
}

Deno.test("huggingface defaults to the router's chat completions with HF_MODEL", async () => {
  await withServer(startOpenAIServer({ apiKey: "hf_x" }), async (server) => {
    const config = loadConfig({ HF_API_TOKEN: "hf_x", SYSTEM_PROMPT: "Be brief." });
    const provider = createHuggingFaceProvider(config, routerTo(server));
    assert.equal(provider.name, "huggingface/meta-llama/Llama-3.1-8B-Instruct");
    await provider.ready();
    const pieces = await collect(provider, [msg("user", "hi router")]);
    assert.deepEqual(pieces, ["You", " said:", " hi", " router"]);
    assert.deepEqual(server.requests.map((r) => r.path), ["/v1/models", "/v1/chat/completions"]);
    const sent = server.requests[1];
    assert.equal(sent.headers.authorization, "Bearer hf_x");
    assert.equal((sent.body as OpenAIRequestBody).model, "meta-llama/Llama-3.1-8B-Instruct");
    assert.deepEqual((sent.body as OpenAIRequestBody).messages, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "hi router" },
    ]);

    const other = createHuggingFaceProvider(
      loadConfig({ HF_API_TOKEN: "hf_wrong", HF_MODEL: "Qwen/Qwen2.5-7B-Instruct" }),
      routerTo(server),
    );
    assert.equal(other.name, "huggingface/Qwen/Qwen2.5-7B-Instruct");
    await assert.rejects(
      other.ready(),
      rejectsWith(
        /^the Hugging Face router at https:\/\/router\.huggingface\.co\/v1 rejected the API key \(HF_API_TOKEN\)/,
      ),
    );
  });
  // No token: known without asking the router.
  const unkeyed = createHuggingFaceProvider(
    loadConfig({ MODEL_PROVIDER: "huggingface" }),
    () => Promise.reject(new Error("no network call expected")),
  );
  await assert.rejects(unkeyed.ready(), rejectsWith(/^HF_API_TOKEN is not set$/));
});

Deno.test("huggingface: HF_API_URL picks chat completions or GPT-J's protocol", async () => {
  const cases: Array<[string, string | undefined]> = [
    [HF_ROUTER_URL, HF_ROUTER_URL],
    ["https://router.huggingface.co/", HF_ROUTER_URL],
    ["https://router.huggingface.co/v1/chat/completions", HF_ROUTER_URL],
    ["http://tgi.local:8080/v1/", "http://tgi.local:8080/v1"],
    ["http://tgi.local:8080", undefined],
    ["https://router.huggingface.co/hf-inference/models/gpt2", undefined],
  ];
  for (const [url, base] of cases) assert.equal(chatCompletionsBase(url), base, url);
  const retired = createHuggingFaceProvider(loadConfig({
    HF_API_URL: "https://api-inference.huggingface.co/models/EleutherAI/gpt-j-6b",
    HF_API_TOKEN: "hf_x",
  }));
  await assert.rejects(retired.ready(), rejectsWith(/no longer serves models.*HF_MODEL.*TGI/));
});

Deno.test("unreachableReason words the transport error an operator sees", () => {
  const fetchError = (detail: string) =>
    new TypeError("fetch failed", { cause: new Error(`error sending request: ${detail}`) });
  assert.equal(
    unreachableReason(fetchError("tcp connect error: Connection refused (os error 111)")),
    "connection refused",
  );
  assert.equal(
    unreachableReason(fetchError("dns error: failed to lookup address information")),
    "unknown host",
  );
  assert.equal(unreachableReason(new Error("something odd")), "something odd");
});

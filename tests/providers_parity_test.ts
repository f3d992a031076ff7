// One table of turn behaviour run against every provider: OpenAI-compatible, the Hugging Face
// router, GPT-J over TGI and the embedded llama.cpp model must stop, time out, fail and stay quiet
// the same way, because the worker and the user see them all through the same turn guard.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../lib/config.ts";
import type { Message } from "../lib/contract/frames.ts";
import { createHuggingFaceProvider, HF_ROUTER_URL } from "../lib/providers/huggingface.ts";
import { createLlamaProvider, type LlamaProvider } from "../lib/providers/llama.ts";
import { createOpenAIProvider } from "../lib/providers/openai.ts";
import { ModelError, type ModelProvider } from "../lib/providers/types.ts";
import { writeTestModel } from "./fixtures/make_test_model.ts";
import {
  type ModelServer,
  startOpenAIServer,
  startTGIServer,
  type TGIServerOptions,
} from "./fixtures/model_servers.ts";
import { waitFor } from "./support/wait.ts";

const TIMEOUT_MS = 500;
const LONG_REPLY = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ");

/** A provider set up for one scenario, and how to see what the model behind it did. */
interface Setup {
  provider: ModelProvider;
  /** How the provider names its model in every error. */
  label: string;
  /** Resolves once the model has stopped generating (the server saw the hang-up, the sequence is free). */
  stopped(): Promise<void>;
  /** Generation requests the server received (remote providers only). */
  generations?(): number;
  cleanup(): Promise<void>;
}

type Behaviour = "streaming" | "silent" | "empty" | "failing";

interface Harness {
  kind: string;
  setup(behaviour: Behaviour): Promise<Setup>;
}

const turn: Message[] = [{ id: "u1", role: "user", content: "Hello there", timestamp: "" }];

function generate(provider: ModelProvider, signal = new AbortController().signal) {
  return provider.generate({ messages: turn, signal });
}

async function collect(provider: ModelProvider, signal?: AbortSignal): Promise<string[]> {
  const pieces: string[] = [];
  for await (const piece of generate(provider, signal)) pieces.push(piece);
  return pieces;
}

/** The shared waitFor, polled often: these waits are for a local server to notice a cut. */
const until = (check: () => boolean, what: string, ms = 3000) =>
  waitFor(check, what, ms, { intervalMs: 10 });

const env = { MODEL_TIMEOUT_MS: String(TIMEOUT_MS), MAX_NEW_TOKENS: "200" };

/** What each behaviour asks of a local server that speaks a remote protocol (either one). */
function serverOptions(
  behaviour: Behaviour,
  hang: "headers" | "body",
): Omit<TGIServerOptions, "reply"> & { reply?: string } {
  switch (behaviour) {
    case "streaming":
      return { reply: LONG_REPLY, tokenDelayMs: 15 };
    case "silent":
      // Silent before the response starts, or after its headers: both are the same timeout.
      return { hang };
    case "empty":
      return { reply: "" };
    case "failing":
      return { status: 500, errorBody: { error: { message: "upstream exploded" } } };
  }
}

function remoteSetup(server: ModelServer, provider: ModelProvider, label: string): Setup {
  return {
    provider,
    label,
    stopped: () => until(() => server.aborted === 1, "the server to see the hang-up"),
    generations: () => server.requests.filter((r) => !/\/(models|health)$/.test(r.path)).length,
    async cleanup() {
      await provider.close();
      await server.close();
    },
  };
}

/** Sends what the provider addresses to the Hugging Face router to a local server instead. */
function routerTo(server: ModelServer): typeof fetch {
  return (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    return fetch(url.replace(HF_ROUTER_URL, server.url), init);
  };
}

async function llamaSetup(behaviour: Behaviour): Promise<Setup> {
  const dir = await Deno.makeTempDir({ prefix: "parity_llama_" });
  const modelPath = join(dir, "tiny.gguf");
  await writeTestModel(modelPath, "tiny", { seed: 7, emptyReplies: behaviour === "empty" });
  const silent = behaviour === "silent";
  const provider: LlamaProvider = createLlamaProvider(loadConfig({
    ...env,
    MODEL_PATH: modelPath,
    LLAMA_CONTEXT_SIZE: "1024",
    LLAMA_THREADS: "1",
    // "silent": a long turn keeps the only sequence busy, so the turn under test hears nothing.
    LLAMA_MAX_SEQUENCES: silent ? "1" : "2",
    MAX_NEW_TOKENS: silent ? "5000" : env.MAX_NEW_TOKENS,
  }));
  // close() returns once llama.cpp has let go of every generation, which is "stopped" too.
  let closed = false;
  const close = provider.close;
  provider.close = () => {
    closed = true;
    return close();
  };
  await provider.ready();
  const blocker = new AbortController();
  let blocked: Promise<unknown> = Promise.resolve();
  if (silent) {
    const { promise: busy, resolve } = Promise.withResolvers<void>();
    blocked = (async () => {
      for await (const _ of generate(provider, blocker.signal)) resolve();
    })().catch(() => {}).finally(resolve);
    await busy;
  }
  const busy = provider.stats().active;
  return {
    provider,
    label: "the local model",
    stopped: () => until(() => closed || provider.stats().active === busy, "a free sequence"),
    async cleanup() {
      blocker.abort();
      await blocked;
      await provider.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const HARNESSES: Harness[] = [
  {
    kind: "openai",
    async setup(behaviour) {
      const server = await startOpenAIServer(serverOptions(behaviour, "headers"));
      const provider = createOpenAIProvider(loadConfig({ ...env, OPENAI_BASE_URL: server.url }));
      return remoteSetup(server, provider, `the model server at ${server.url}`);
    },
  },
  {
    kind: "huggingface (router)",
    async setup(behaviour) {
      const server = await startOpenAIServer(serverOptions(behaviour, "body"));
      const config = loadConfig({ ...env, HF_API_TOKEN: "hf_test" });
      const provider = createHuggingFaceProvider(config, routerTo(server));
      return remoteSetup(server, provider, `the Hugging Face router at ${HF_ROUTER_URL}`);
    },
  },
  {
    kind: "huggingface (TGI)",
    async setup(behaviour) {
      const server = await startTGIServer(serverOptions(behaviour, "body"));
      const provider = createHuggingFaceProvider(loadConfig({ ...env, HF_API_URL: server.url }));
      return remoteSetup(server, provider, `the Hugging Face endpoint at ${server.url}`);
    },
  },
  { kind: "llama", setup: llamaSetup },
];

interface Scenario {
  name: string;
  behaviour: Behaviour;
  /** Providers this cannot be staged for. */
  skip?: string[];
  run(setup: Setup): Promise<void>;
}

const SCENARIOS: Scenario[] = [{
  name: "streams a reply in several pieces, with ready() passing first",
  behaviour: "streaming",
  async run({ provider, generations }) {
    const pieces = await collect(provider);
    assert.ok(pieces.length >= 10, `${pieces.length} pieces`);
    assert.ok(pieces.every((p) => p.length > 0), "no empty pieces");
    if (generations) assert.equal(generations(), 1);
  },
}, {
  name: "a turn stopped before it starts yields nothing and asks the model for nothing",
  behaviour: "streaming",
  async run({ provider, generations }) {
    assert.deepEqual(await collect(provider, AbortSignal.abort()), []);
    if (generations) assert.equal(generations(), 0);
  },
}, {
  name: "Stop mid-reply ends the turn quietly and the model stops generating",
  behaviour: "streaming",
  async run({ provider, stopped }) {
    const stop = new AbortController();
    const pieces: string[] = [];
    for await (const piece of generate(provider, stop.signal)) {
      pieces.push(piece);
      if (pieces.length === 2) stop.abort();
    }
    assert.ok(pieces.length >= 2 && pieces.length < 10, `stopped early (${pieces.length} pieces)`);
    await stopped();
  },
}, {
  name: "a consumer that stops reading stops the generation too",
  behaviour: "streaming",
  async run({ provider, stopped }) {
    for await (const _ of generate(provider)) break;
    await stopped();
  },
}, {
  name: "close() ends a running turn quietly",
  behaviour: "streaming",
  async run({ provider, stopped }) {
    const pieces: string[] = [];
    for await (const piece of generate(provider)) {
      pieces.push(piece);
      if (pieces.length === 2) await provider.close();
    }
    assert.ok(pieces.length < 10, `${pieces.length} pieces after close()`);
    await stopped();
  },
}, {
  name: "silence for MODEL_TIMEOUT_MS fails the turn with the same message",
  behaviour: "silent",
  async run({ provider, label }) {
    const started = Date.now();
    await assert.rejects(collect(provider), (e: Error) => {
      assert.ok(e instanceof ModelError, String(e));
      assert.equal(e.message, `${label} timed out: nothing received for ${TIMEOUT_MS} ms`);
      return true;
    });
    assert.ok(Date.now() - started < TIMEOUT_MS + 1500, "gave up promptly");
  },
}, {
  name: "an answer without text fails the turn with the same message",
  behaviour: "empty",
  async run({ provider, label }) {
    await assert.rejects(collect(provider), (e: Error) => {
      assert.ok(e instanceof ModelError, String(e));
      assert.equal(e.message, `${label} sent an empty answer`);
      return true;
    });
  },
}, {
  name: "a failed request is a ModelError that names the model and carries the cause",
  behaviour: "failing",
  // A healthy llama.cpp has no failing mode to stage; its load failures are covered in llama_test.
  skip: ["llama"],
  async run({ provider, label }) {
    await assert.rejects(collect(provider), (e: Error) => {
      assert.ok(e instanceof ModelError, String(e));
      assert.ok(e.message.startsWith(`${label} answered 500: `), e.message);
      assert.match(e.message, /upstream exploded/);
      return true;
    });
  },
}];

for (const harness of HARNESSES) {
  for (const scenario of SCENARIOS) {
    if (scenario.skip?.includes(harness.kind)) continue;
    Deno.test(`${harness.kind}: ${scenario.name}`, async () => {
      const setup = await harness.setup(scenario.behaviour);
      try {
        await setup.provider.ready();
        await scenario.run(setup);
      } finally {
        await setup.cleanup();
      }
    });
  }
}

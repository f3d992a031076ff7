// The embedded model on a real llama.cpp runtime: a tiny random-weight GGUF written by the test
// itself (llama architecture, its own BPE tokenizer and ChatML template). Random weights make
// the text garbage, so these tests check structure and timing, never content.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../lib/config.ts";
import type { Message } from "../lib/contract/frames.ts";
import { createLlamaProvider, defaultThreads, type LlamaProvider } from "../lib/providers/llama.ts";
import { gpuOption, startLlama } from "../lib/providers/llama_runtime.ts";
import { ModelUnavailableError } from "../lib/providers/types.ts";
import { writeTestModel } from "./fixtures/make_test_model.ts";

const SYSTEM_PROMPT = "You are a test assistant.";

function provider(modelPath: string, env: Record<string, string> = {}): LlamaProvider {
  return createLlamaProvider(loadConfig({
    MODEL_PATH: modelPath,
    SYSTEM_PROMPT,
    LLAMA_MAX_SEQUENCES: "2",
    LLAMA_CONTEXT_SIZE: "1024",
    LLAMA_THREADS: "1",
    MAX_NEW_TOKENS: "200",
    ...env,
  }));
}

function conversation(text = "Hello there, how are you today?"): Message[] {
  const at = new Date().toISOString();
  return [
    { id: "u1", role: "user", content: "Hi!", timestamp: at },
    { id: "a1", role: "assistant", content: "Hello, how can I help?", timestamp: at },
    { id: "u2", role: "user", content: text, timestamp: at },
  ];
}

interface Run {
  pieces: string[];
  /** performance.now() when each piece arrived. */
  times: number[];
  started: number;
  ended: number;
}

async function collect(
  model: LlamaProvider,
  signal = new AbortController().signal,
  onPiece?: (count: number) => void,
): Promise<Run> {
  const run: Run = { pieces: [], times: [], started: performance.now(), ended: 0 };
  for await (const piece of model.generate({ messages: conversation(), signal })) {
    run.pieces.push(piece);
    run.times.push(performance.now());
    onPiece?.(run.pieces.length);
  }
  run.ended = performance.now();
  return run;
}

const rssMb = () => Deno.memoryUsage().rss / 2 ** 20;

Deno.test("llama provider on a generated tiny GGUF model", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "llama_test_" });
  const modelPath = join(dir, "tiny-test.gguf");
  await writeTestModel(modelPath, "tiny", { seed: 7 });
  const model = provider(modelPath);
  try {
    await t.step("loads the file, names itself after it and says what runs it", async () => {
      assert.equal(model.gpu, undefined, "not known before loading");
      await model.ready();
      assert.equal(model.name, "llama/tiny-test");
      // LLAMA_GPU=auto: the CPU here; a CUDA or Vulkan build where one is installed and works.
      assert.match(model.gpu ?? "", /^(cpu|cuda|vulkan|metal)/);
      assert.deepEqual(model.stats(), { active: 0, waiting: 0, limit: 2 });
    });

    await t.step("prompts through the model's own ChatML template", async () => {
      assert.equal(await model.chatWrapperName(), "JinjaTemplate");
      const prompt = await model.renderPrompt(conversation("What is GGUF?"));
      // Exactly what the template renders: no BOS token doubling the first <|im_start|>.
      assert.ok(
        prompt.startsWith("<|im_start|>system\nYou are a test assistant.<|im_end|>\n"),
        prompt,
      );
      assert.match(prompt, /<\|im_start\|>user\nHi!<\|im_end\|>/);
      assert.match(prompt, /<\|im_start\|>assistant\nHello, how can I help\?<\|im_end\|>/);
      assert.match(
        prompt,
        /<\|im_start\|>user\nWhat is GGUF\?<\|im_end\|>\n<\|im_start\|>assistant\n$/,
      );
    });

    let full: Run | undefined;
    await t.step("streams the reply as several pieces up to MAX_NEW_TOKENS", async () => {
      full = await collect(model);
      assert.ok(full.pieces.length >= 100, `only ${full.pieces.length} pieces`);
      assert.ok(full.pieces.length <= 200, `${full.pieces.length} pieces for 200 tokens`);
      // Streaming, not one block at the end: the pieces arrive spread over the run.
      assert.ok(full.times[0] < full.times[full.times.length - 1]);
      assert.ok(full.times[0] - full.started < (full.ended - full.started) / 2);
      assert.deepEqual(model.stats(), { active: 0, waiting: 0, limit: 2 });
    });

    await t.step("an abort ends a long generation early and frees the sequence", async () => {
      assert.ok(full);
      const stop = new AbortController();
      const run = await collect(model, stop.signal, (n) => n === 3 && stop.abort());
      assert.ok(run.pieces.length >= 3 && run.pieces.length < 10, `${run.pieces.length} pieces`);
      assert.ok(
        run.ended - run.started < (full.ended - full.started) / 3,
        `aborted run took ${run.ended - run.started} ms, a full one ${
          full.ended - full.started
        } ms`,
      );
      assert.deepEqual(model.stats(), { active: 0, waiting: 0, limit: 2 });
      // An already aborted turn yields nothing and takes no sequence.
      const none = await collect(model, AbortSignal.abort());
      assert.equal(none.pieces.length, 0);
    });

    await t.step("two sessions generate at once; a third waits for a free sequence", async () => {
      let seen = { active: 0, waiting: 0 };
      const watch = () => {
        const s = model.stats();
        seen = {
          active: Math.max(seen.active, s.active),
          waiting: Math.max(seen.waiting, s.waiting),
        };
      };
      const [a, b, c] = await Promise.all([
        collect(model, undefined, watch),
        collect(model, undefined, watch),
        collect(model, undefined, watch),
      ]);
      assert.deepEqual(seen, { active: 2, waiting: 1 });
      // a and b overlap: each produced a piece before the other finished.
      assert.ok(a.times[0] < b.ended && b.times[0] < a.ended);
      const interleaved = a.times.filter((x) => x > b.times[0] && x < b.times[b.times.length - 1]);
      assert.ok(interleaved.length > 10, `only ${interleaved.length} of a's pieces during b`);
      // c only starts once one of them has finished.
      assert.ok(c.times[0] >= Math.min(a.ended, b.ended), "the third turn did not wait");
      assert.ok(c.pieces.length >= 100);
      assert.deepEqual(model.stats(), { active: 0, waiting: 0, limit: 2 });
    });

    await t.step("a waiting turn that is stopped leaves the queue without output", async () => {
      const stop = new AbortController();
      const { promise: generating, resolve } = Promise.withResolvers<void>();
      const busy = [collect(model, undefined, () => resolve()), collect(model)];
      const waiting = collect(model, stop.signal);
      await generating;
      assert.deepEqual(model.stats(), { active: 2, waiting: 1, limit: 2 });
      stop.abort();
      assert.equal((await waiting).pieces.length, 0);
      assert.equal(model.stats().waiting, 0);
      await Promise.all(busy);
    });

    await t.step("memory returns to its level once sequences are freed", async () => {
      await collect(model);
      const before = rssMb();
      for (let i = 0; i < 6; i++) {
        const stop = new AbortController();
        await Promise.all([
          collect(model),
          collect(model, stop.signal, (n) => n === 5 && stop.abort()),
        ]);
      }
      const after = rssMb();
      assert.deepEqual(model.stats(), { active: 0, waiting: 0, limit: 2 });
      assert.ok(
        after - before < 24,
        `RSS grew from ${before.toFixed(0)} to ${after.toFixed(0)} MiB`,
      );
    });

    await t.step("the template comes from the file, whatever it is", async () => {
      const customPath = join(dir, "custom-template.gguf");
      await writeTestModel(customPath, "tiny", {
        chatTemplate: "{% for m in messages %}[[{{ m['role'] }}]] {{ m['content'] }} [[/turn]]\n" +
          "{% endfor %}{% if add_generation_prompt %}[[assistant]] {% endif %}",
      });
      const custom = provider(customPath, { MAX_NEW_TOKENS: "5000" });
      try {
        const prompt = await custom.renderPrompt(conversation("Ping?"));
        assert.ok(prompt.includes("[[system]] You are a test assistant. [[/turn]]"), prompt);
        assert.ok(prompt.includes("[[user]] Ping? [[/turn]]"), prompt);
        assert.ok(!prompt.includes("<|im_start|>"), prompt);
        assert.equal(await custom.chatWrapperName(), "JinjaTemplate");
        const stop = new AbortController();
        const run = await collect(custom, stop.signal, (n) => n === 20 && stop.abort());
        assert.ok(run.pieces.length >= 20);
      } finally {
        await custom.close();
      }
    });

    await t.step("close() stops running and waiting turns instead of hanging", async () => {
      const closing = provider(modelPath, { MAX_NEW_TOKENS: "5000" });
      const { promise: generating, resolve } = Promise.withResolvers<void>();
      const turns = [
        collect(closing, undefined, () => resolve()),
        collect(closing),
        collect(closing),
      ];
      await generating;
      const started = performance.now();
      await closing.close();
      const runs = await Promise.all(turns);
      assert.ok(performance.now() - started < 1000, "close took too long");
      assert.ok(
        runs.every((run) => run.pieces.length < 1000),
        runs.map((r) => r.pieces.length).join(),
      );
      assert.equal(runs[2].pieces.length, 0);
      await assert.rejects(collect(closing), ModelUnavailableError);
    });
  } finally {
    await model.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("llama provider without a usable model file fails fast with ModelUnavailableError", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llama_test_" });
  try {
    const missing = provider(join(dir, "nope.gguf"));
    const started = performance.now();
    await assert.rejects(missing.ready(), (error: Error) => {
      assert.ok(error instanceof ModelUnavailableError);
      assert.match(error.message, /deno task model/);
      assert.match(error.message, /MODEL_PATH/);
      return true;
    });
    const turn = missing.generate({
      messages: conversation(),
      signal: new AbortController().signal,
    });
    await assert.rejects(turn[Symbol.asyncIterator]().next(), ModelUnavailableError);
    assert.ok(performance.now() - started < 1000);
    await missing.close();

    const corruptPath = join(dir, "corrupt.gguf");
    await Deno.writeFile(corruptPath, crypto.getRandomValues(new Uint8Array(4096)));
    const corrupt = provider(corruptPath);
    await assert.rejects(corrupt.ready(), ModelUnavailableError);
    await corrupt.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("defaultThreads leaves a core free", () => {
  assert.equal(defaultThreads(1), 1);
  assert.equal(defaultThreads(2), 1);
  assert.equal(defaultThreads(4), 3);
  assert.equal(defaultThreads(64), 8);
});

Deno.test("LLAMA_GPU: a GPU build that cannot load falls back to the CPU and says how to fix it", async () => {
  assert.equal(gpuOption("auto"), "auto");
  assert.equal(gpuOption("off"), false);
  assert.equal(gpuOption("cuda"), "cuda");
  const off = await startLlama("off", () => {});
  assert.equal(off.gpu, "cpu");
  await off.llama.dispose();
  for (const setting of ["cuda", "vulkan"] as const) {
    const lines: string[] = [];
    const { llama, gpu } = await startLlama(setting, (line) => lines.push(line));
    try {
      if (gpu === "cpu") {
        // No usable build of that backend here (the tested default installs the CPU build only).
        assert.ok(
          lines.some((l) => l.includes(`LLAMA_GPU=${setting}`) && /deno task install:gpu/.test(l)),
          lines.join("\n"),
        );
      } else {
        assert.ok(gpu.startsWith(setting), gpu);
      }
    } finally {
      await llama.dispose();
    }
  }
});

// The embedded model: a local GGUF file run by llama.cpp through node-llama-cpp, in the worker only.
// node-llama-cpp is imported dynamically here and nowhere else, so the web server's import graph
// never contains native code.
import { basename } from "node:path";
import type { Config } from "../config.ts";
import { DEFAULT_MODEL_FILE } from "../config.ts";
import type { Message } from "../contract/frames.ts";
import { recentWithinBudget, systemPromptFor } from "./context.ts";
import { ChunkQueue, SequencePool } from "./llama_pool.ts";
import { type Runtime, type Started, startLlama } from "./llama_runtime.ts";
import { GuardedTurns } from "./turn_guard.ts";
import { type GenerateRequest, type ModelProvider, ModelUnavailableError } from "./types.ts";
import type * as NodeLlamaCpp from "../../vendor/node-llama-cpp/node_modules/node-llama-cpp/dist/index.d.ts";

type Sequence = NodeLlamaCpp.LlamaContextSequence;

// SmolLM2's model card suggests a low temperature with top-p for its instruct models.
const SAMPLING = { temperature: 0.2, topP: 0.9 } as const;

export interface LlamaStats {
  /** Sequences generating now. */
  active: number;
  /** Turns waiting for a free sequence. */
  waiting: number;
  limit: number;
}

export interface LlamaProvider extends ModelProvider {
  readonly modelPath: string;
  /** The prompt the model's own chat template makes of a conversation, as generate() would send it. */
  renderPrompt(messages: Message[]): Promise<string>;
  /** The chat wrapper in use: "JinjaTemplate" when the file carries a chat template. */
  chatWrapperName(): Promise<string>;
  stats(): LlamaStats;
}

/**
 * Threads per evaluation when LLAMA_THREADS is 0. ggml's threads spin on a barrier, and one of
 * them being descheduled stalls every token, so leave a core for the event loop, the web server
 * and Redis: on a 2-core machine one thread is many times faster than two under load.
 */
export function defaultThreads(cores = navigator.hardwareConcurrency || 1): number {
  return Math.max(1, Math.min(8, cores - 1));
}

interface Loaded {
  runtime: Runtime;
  llama: NodeLlamaCpp.Llama;
  model: NodeLlamaCpp.LlamaModel;
  context: NodeLlamaCpp.LlamaContext;
  chatWrapper: NodeLlamaCpp.ChatWrapper;
  pool: SequencePool<Sequence>;
  /** What runs it: "cpu" or the GPU backend and devices. */
  gpu: string;
}

function unavailable(path: string, why: string, cause?: unknown): ModelUnavailableError {
  return new ModelUnavailableError(
    `The local model ${path} ${why}. Run \`deno task model\` to download it, set MODEL_PATH to a ` +
      `GGUF file, or configure another provider (OPENAI_API_KEY, HF_API_TOKEN or HF_API_URL).`,
    { cause },
  );
}

/**
 * The file's own Jinja chat template, rendered as is. node-llama-cpp's "auto" choice would swap
 * a known template for its built-in twin, and its ChatML twin puts a BOS token before the first
 * `<|im_start|>`, which for SmolLM2 (whose BOS *is* `<|im_start|>`) doubles it. Files without a
 * usable template fall back to that guess from the model's name and architecture.
 */
function modelChatWrapper(
  runtime: Runtime,
  model: NodeLlamaCpp.LlamaModel,
): NodeLlamaCpp.ChatWrapper {
  if (model.fileInfo.metadata.tokenizer?.chat_template) {
    try {
      return runtime.resolveChatWrapper(model, {
        type: "jinjaTemplate",
        fallbackToOtherWrappersOnJinjaError: false,
      });
    } catch (error) {
      console.error(`[llama] the model's chat template is unusable (${error}); guessing one`);
    }
  }
  return runtime.resolveChatWrapper(model);
}

function toChatHistory(systemPrompt: string, messages: Message[]): NodeLlamaCpp.ChatHistoryItem[] {
  const history: NodeLlamaCpp.ChatHistoryItem[] = [];
  if (systemPrompt.trim()) history.push({ type: "system", text: systemPrompt });
  for (const message of messages) {
    history.push(
      message.role === "user"
        ? { type: "user", text: message.content }
        : { type: "model", response: [message.content] },
    );
  }
  // The reply is generated into this empty model turn.
  history.push({ type: "model", response: [] });
  return history;
}

export function createLlamaProvider(config: Config): LlamaProvider {
  const modelPath = config.MODEL_PATH ?? DEFAULT_MODEL_FILE;
  const limit = config.LLAMA_MAX_SEQUENCES;
  let loading: Promise<Loaded> | undefined;
  let loaded: Loaded | undefined;
  let closed = false;
  /** Generations in flight: close() stops them and waits for llama.cpp to let go. */
  const running = new Map<AbortController, Promise<void>>();

  async function load(): Promise<Loaded> {
    try {
      const info = await Deno.stat(modelPath);
      if (!info.isFile) throw unavailable(modelPath, "is not a file");
    } catch (error) {
      if (error instanceof ModelUnavailableError) throw error;
      throw unavailable(modelPath, "was not found", error);
    }
    let started: Started;
    try {
      started = await startLlama(config.LLAMA_GPU);
    } catch (error) {
      throw new ModelUnavailableError(
        `The llama.cpp runtime could not start (${error}). Run \`deno task install\`.`,
        { cause: error },
      );
    }
    const { runtime, llama, gpu } = started;
    let model: NodeLlamaCpp.LlamaModel | undefined;
    try {
      model = await llama.loadModel({ modelPath });
      // All sequences of one context share its batch: the tokens of every session generating at
      // once go through llama.cpp in one decode call per step ("maximumParallelism" batching).
      // contextSize is per sequence, so memory grows with LLAMA_MAX_SEQUENCES.
      const context = await model.createContext({
        sequences: limit,
        contextSize: Math.min(config.LLAMA_CONTEXT_SIZE, model.trainContextSize),
        threads: config.LLAMA_THREADS || defaultThreads(),
        batching: {
          dispatchSchedule: "nextCycle",
          itemPrioritizationStrategy: "maximumParallelism",
        },
      });
      const sequences = Array.from({ length: limit }, () => context.getSequence());
      const chatWrapper = modelChatWrapper(runtime, model);
      const pool = new SequencePool(sequences);
      return { runtime, llama, model, context, chatWrapper, pool, gpu };
    } catch (error) {
      await model?.dispose().catch(() => {});
      await llama.dispose().catch(() => {});
      throw unavailable(
        modelPath,
        `could not be loaded (${(error as Error)?.message ?? error})`,
        error,
      );
    }
  }

  /** Loads once; a failure is not remembered, so a model downloaded later is picked up. */
  function ensureLoaded(): Promise<Loaded> {
    if (closed) return Promise.reject(new ModelUnavailableError("The local model was closed."));
    loading ??= load().then(
      (state) => loaded = state,
      (error) => {
        loading = undefined;
        throw error;
      },
    );
    return loading;
  }

  function history(messages: Message[], userName?: string) {
    return toChatHistory(
      systemPromptFor(config.SYSTEM_PROMPT, userName),
      recentWithinBudget(messages, config.CONTEXT_MAX_CHARS),
    );
  }

  const turns = new GuardedTurns(config.MODEL_TIMEOUT_MS, "the local model");

  function generate({ messages, signal, userName }: GenerateRequest): AsyncGenerator<string> {
    return turns.run(signal, (guard) => generateOn(messages, guard.signal, userName));
  }

  async function* generateOn(
    messages: Message[],
    signal: AbortSignal,
    userName?: string,
  ): AsyncGenerator<string> {
    const { runtime, chatWrapper, pool } = await ensureLoaded();
    const sequence = await pool.acquire(signal);
    if (!sequence || closed) return;
    // Also stops generation when the consumer stops iterating early.
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const chat = new runtime.LlamaChat({ contextSequence: sequence, chatWrapper });
    const queue = new ChunkQueue();
    const finished = chat.generateResponse(history(messages, userName), {
      ...SAMPLING,
      maxTokens: config.MAX_NEW_TOKENS,
      signal: stop.signal,
      stopOnAbortSignal: true,
      onTextChunk: (text) => queue.push(text),
    }).then(
      () => queue.end(),
      (error) => queue.end(stop.signal.aborted ? undefined : error),
    );
    running.set(stop, finished);
    try {
      // A failure propagates as is: the turn guard words it like every provider's.
      for await (const piece of queue.drain()) {
        if (stop.signal.aborted) break;
        yield piece;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      stop.abort();
      await finished;
      running.delete(stop);
      if (!closed) {
        chat.dispose({ disposeSequence: false });
        // Forget this conversation's tokens so the next turn starts from an empty sequence.
        await sequence.clearHistory().catch(() => {});
        pool.release(sequence);
      }
    }
  }

  return {
    name: `llama/${basename(modelPath).replace(/\.gguf$/i, "")}`,
    get gpu() {
      return loaded?.gpu;
    },
    modelPath,
    async ready() {
      await ensureLoaded();
    },
    generate,
    async renderPrompt(messages) {
      const { chatWrapper } = await ensureLoaded();
      return chatWrapper.generateContextState({ chatHistory: history(messages) }).contextText
        .toString();
    },
    async chatWrapperName() {
      return (await ensureLoaded()).chatWrapper.wrapperName;
    },
    stats() {
      const pool = loaded?.pool;
      return { active: pool?.active ?? 0, waiting: pool?.waiting ?? 0, limit };
    },
    async close() {
      closed = true;
      await turns.close();
      const state = await loading?.catch(() => undefined);
      if (!state) return;
      state.pool.close();
      for (const stop of running.keys()) stop.abort();
      await Promise.all(running.values());
      await state.context.dispose();
      await state.model.dispose();
      await state.llama.dispose();
    },
  };
}

// The embedded model: a local GGUF file run by llama.cpp through node-llama-cpp, in the worker only.
// node-llama-cpp is imported dynamically here and nowhere else, so the web server's import graph
// never contains native code.
import { basename } from "node:path";
import type { Config } from "../config.ts";
import { DEFAULT_MODEL_FILE } from "../config.ts";
import type { Message } from "../contract/frames.ts";
import { recentWithinBudget } from "./context.ts";
import { GuardedTurns } from "./turn_guard.ts";
import {
  type GenerateRequest,
  ModelError,
  type ModelProvider,
  ModelUnavailableError,
} from "./types.ts";
import type * as NodeLlamaCpp from "../../vendor/node-llama-cpp/node_modules/node-llama-cpp/dist/index.d.ts";

type Runtime = typeof NodeLlamaCpp;
type Sequence = NodeLlamaCpp.LlamaContextSequence;

const RUNTIME_PATH = "../../vendor/node-llama-cpp/node_modules/node-llama-cpp/dist/index.js";

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

/** A fixed set of context sequences; turns beyond it wait in FIFO order. */
class SequencePool {
  #free: Sequence[];
  #closed = false;
  #waiters: Array<(sequence: Sequence | undefined) => void> = [];
  readonly limit: number;

  constructor(sequences: Sequence[]) {
    this.#free = [...sequences];
    this.limit = sequences.length;
  }

  get active() {
    return this.limit - this.#free.length;
  }
  get waiting() {
    return this.#waiters.length;
  }

  /** Resolves with a sequence, or undefined when `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<Sequence | undefined> {
    if (signal.aborted || this.#closed) return Promise.resolve(undefined);
    const free = this.#free.shift();
    if (free) return Promise.resolve(free);
    return new Promise((resolve) => {
      const waiter = (sequence: Sequence | undefined) => {
        signal.removeEventListener("abort", onAbort);
        resolve(sequence);
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(undefined);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(sequence: Sequence) {
    const next = this.#waiters.shift();
    if (next) next(sequence);
    else this.#free.push(sequence);
  }

  /** Hands out nothing more: waiting turns end without a sequence. */
  close() {
    this.#closed = true;
    this.#free = [];
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}

/** Text chunks pushed by callbacks, pulled by an async generator. */
class ChunkQueue {
  #items: string[] = [];
  #ended = false;
  #error: unknown;
  #wake?: () => void;

  push(text: string) {
    if (text) this.#items.push(text);
    this.#wake?.();
  }
  end(error?: unknown) {
    this.#ended = true;
    this.#error = error;
    this.#wake?.();
  }
  async *drain(): AsyncGenerator<string> {
    while (true) {
      if (this.#items.length) {
        yield this.#items.splice(0).join("");
        continue;
      }
      if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }
}

interface Loaded {
  runtime: Runtime;
  llama: NodeLlamaCpp.Llama;
  model: NodeLlamaCpp.LlamaModel;
  context: NodeLlamaCpp.LlamaContext;
  chatWrapper: NodeLlamaCpp.ChatWrapper;
  pool: SequencePool;
}

function unavailable(path: string, why: string, cause?: unknown): ModelUnavailableError {
  return new ModelUnavailableError(
    `The local model ${path} ${why}. Run \`deno task model\` to download it, set MODEL_PATH to a ` +
      `GGUF file, or configure another provider (OPENAI_API_KEY or HF_API_URL).`,
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
    let runtime: Runtime;
    let llama: NodeLlamaCpp.Llama;
    try {
      runtime = await import(RUNTIME_PATH) as Runtime;
      llama = await runtime.getLlama({
        gpu: false,
        build: "never",
        logLevel: runtime.LlamaLogLevel.warn,
        logger: (level, message) => {
          const text = message.trim();
          if (text && runtime.LlamaLogLevelGreaterThanOrEqual(level, runtime.LlamaLogLevel.warn)) {
            console.error(`[llama] ${text}`);
          }
        },
      });
    } catch (error) {
      throw new ModelUnavailableError(
        `The llama.cpp runtime could not start (${error}). Run \`deno task install\`.`,
        { cause: error },
      );
    }
    let model: NodeLlamaCpp.LlamaModel | undefined;
    try {
      model = await llama.loadModel({ modelPath });
      const context = await model.createContext({
        sequences: limit,
        contextSize: Math.min(config.LLAMA_CONTEXT_SIZE, model.trainContextSize),
        threads: config.LLAMA_THREADS || defaultThreads(),
      });
      const sequences = Array.from({ length: limit }, () => context.getSequence());
      const chatWrapper = modelChatWrapper(runtime, model);
      return { runtime, llama, model, context, chatWrapper, pool: new SequencePool(sequences) };
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

  function history(messages: Message[]) {
    return toChatHistory(
      config.SYSTEM_PROMPT,
      recentWithinBudget(messages, config.CONTEXT_MAX_CHARS),
    );
  }

  const turns = new GuardedTurns(config.MODEL_TIMEOUT_MS, "the local model");

  function generate({ messages, signal }: GenerateRequest): AsyncGenerator<string> {
    return turns.run(signal, (guard) => generateOn(messages, guard.signal));
  }

  async function* generateOn(messages: Message[], signal: AbortSignal): AsyncGenerator<string> {
    const { runtime, chatWrapper, pool } = await ensureLoaded();
    const sequence = await pool.acquire(signal);
    if (!sequence || closed) return;
    // Also stops generation when the consumer stops iterating early.
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const chat = new runtime.LlamaChat({ contextSequence: sequence, chatWrapper });
    const queue = new ChunkQueue();
    const finished = chat.generateResponse(history(messages), {
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
      for await (const piece of queue.drain()) {
        if (stop.signal.aborted) break;
        yield piece;
      }
    } catch (error) {
      throw new ModelError(`The local model failed: ${(error as Error)?.message ?? error}`, {
        cause: error,
      });
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

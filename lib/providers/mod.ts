// Picks the provider named by configuration. Imports are dynamic so only the chosen provider's
// code (and, for llama, its native runtime) is ever loaded.
import { chooseProvider, type Config } from "../config.ts";
import type { ModelProvider } from "./types.ts";

export async function createProvider(config: Config): Promise<ModelProvider> {
  switch (chooseProvider(config)) {
    case "openai":
      return (await import("./openai.ts")).createOpenAIProvider(config);
    case "huggingface":
      return (await import("./huggingface.ts")).createHuggingFaceProvider(config);
    case "llama":
      return (await import("./llama.ts")).createLlamaProvider(config);
  }
}

/** How many turns one worker runs at once: the embedded model is bounded by its sequences. */
export function workerConcurrency(config: Config): number {
  return chooseProvider(config) === "llama"
    ? Math.min(config.WORKER_CONCURRENCY ?? Infinity, config.LLAMA_MAX_SEQUENCES)
    : config.WORKER_CONCURRENCY ?? REMOTE_CONCURRENCY;
}

/** A remote turn is one open request: a worker can wait on many (100 users, a 1 s model: 1 s). */
export const REMOTE_CONCURRENCY = 256;

// Hugging Face: by default the router's OpenAI-compatible chat completions (serverless, HF_MODEL);
// with HF_API_URL, the seed's GPT-J on a text-generation-inference (TGI) server, or any model URL
// of the classic Inference API. TGI streams tokens; the classic API answers one JSON document.
import type { Config } from "../config.ts";
import { humanBotPrompt, recentWithinBudget, systemPromptFor } from "./context.ts";
import { endpointReady, probeEndpoint, probeTimeout, unreachableReason } from "./endpoint.ts";
import { createChatCompletionsProvider } from "./openai.ts";
import { ReplyCutter, STOP } from "./reply_cutter.ts";
import { errorMessageOf, sseData } from "./sse.ts";
import { GuardedTurns } from "./turn_guard.ts";
import {
  type GenerateRequest,
  ModelError,
  type ModelProvider,
  ModelUnavailableError,
} from "./types.ts";

/** Serverless inference: Hugging Face routes chat completions to its inference providers. */
export const HF_ROUTER_URL = "https://router.huggingface.co/v1";

/** The classic Inference API's host, which Hugging Face no longer serves models from. */
const RETIRED_HOST = "api-inference.huggingface.co";

type Mode = "stream" | "legacy";

export function createHuggingFaceProvider(
  config: Config,
  fetchImpl: typeof fetch = fetch,
): ModelProvider {
  const url = (config.HF_API_URL ?? HF_ROUTER_URL).replace(/\/+$/, "");
  const base = chatCompletionsBase(url);
  if (!base) return createTextGenerationProvider(url, config, fetchImpl);
  const hosted = hostOf(base) === "router.huggingface.co";
  return createChatCompletionsProvider(
    {
      name: `huggingface/${config.HF_MODEL}`,
      base,
      label: hosted ? `the Hugging Face router at ${base}` : `the model server at ${base}`,
      model: config.HF_MODEL,
      key: config.HF_API_TOKEN,
      urlVariable: "HF_API_URL",
      keyVariable: "HF_API_TOKEN",
      hostedSuffix: "huggingface.co",
    },
    config,
    fetchImpl,
  );
}

/**
 * The chat completions base of a URL that names one (`…/v1`, `…/v1/chat/completions`, the bare
 * router), else undefined: a TGI server's root or a classic model URL takes the GPT-J path.
 */
export function chatCompletionsBase(url: string): string | undefined {
  const trimmed = url.replace(/\/+$/, "");
  let path: string;
  try {
    path = new URL(trimmed).pathname.replace(/\/+$/, "");
  } catch {
    return undefined;
  }
  if (path.endsWith("/chat/completions")) return trimmed.slice(0, -"/chat/completions".length);
  if (path.endsWith("/v1")) return trimmed;
  if (path === "" && hostOf(trimmed) === "router.huggingface.co") return `${trimmed}/v1`;
  return undefined;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return "";
  }
}

/**
 * GPT-J's completion protocol. Failures follow the OpenAI provider: every per-turn failure (HTTP
 * error, "model is loading", unreachable server, idle timeout, empty answer) is a ModelError;
 * ready() raises ModelUnavailableError for configuration that cannot work, a server that is not
 * there or a rejected token.
 */
function createTextGenerationProvider(
  url: string,
  config: Config,
  fetchImpl: typeof fetch,
): ModelProvider {
  const modelId = inferenceModelId(url);
  const label = `the Hugging Face endpoint at ${url}`;
  // A classic Inference API model URL has no TGI routes; anything else is probed once.
  let mode: Mode | undefined = modelId ? "legacy" : undefined;
  const turns = new GuardedTurns(config.MODEL_TIMEOUT_MS, label);

  const headers: Record<string, string> = { "content-type": "application/json" };
  if (config.HF_API_TOKEN) headers.authorization = `Bearer ${config.HF_API_TOKEN}`;

  function generate({ messages, signal, userName }: GenerateRequest): AsyncGenerator<string> {
    const prompt = humanBotPrompt(
      recentWithinBudget(messages, config.CONTEXT_MAX_CHARS),
      systemPromptFor(config.SYSTEM_PROMPT, userName),
    );
    const parameters = {
      return_full_text: false,
      max_new_tokens: config.MAX_NEW_TOKENS,
      stop: [STOP],
    };
    const reply = new ReplyCutter();
    return turns.run(signal, async function* (guard) {
      const post = async (target: string, body: unknown, accept: string) => {
        const response = await fetchImpl(target, {
          method: "POST",
          headers: { ...headers, accept },
          body: JSON.stringify(body),
          signal: guard.signal,
        }).catch((err) => {
          throw new ModelError(`cannot reach ${label} (${unreachableReason(err)})`, {
            cause: err,
          });
        });
        guard.touch();
        return response;
      };

      let response: Response | undefined;
      if (mode !== "legacy") {
        response = await post(
          `${url}/generate_stream`,
          { inputs: prompt, parameters },
          "text/event-stream",
        );
        if (response.status === 404 || response.status === 405) {
          await response.body?.cancel();
          response = undefined;
          mode = "legacy";
        } else if (response.ok) {
          mode = "stream";
        }
      }

      if (response) {
        await throwIfFailed(response, label);
        for await (const data of sseData(response.body!, () => guard.touch())) {
          if (signal.aborted) break;
          const text = streamedText(data, label);
          const piece = reply.push(text);
          yield piece;
          // Closing the stream here is what stops the server generating past the stop marker.
          if (reply.finished) break;
        }
      } else {
        response = await post(url, {
          inputs: prompt,
          parameters,
          options: { wait_for_model: true },
        }, "application/json");
        await throwIfFailed(response, label);
        let text = generatedText(await response.json(), label);
        // Some deployments ignore return_full_text and echo the prompt back.
        if (text.startsWith(prompt)) text = text.slice(prompt.length);
        const piece = reply.push(text);
        yield piece;
      }
      const tail = reply.end();
      if (tail && !signal.aborted) {
        yield tail;
      }
    });
  }

  async function ready(): Promise<void> {
    await endpointReady(url, "HF_API_URL", {
      suffix: "huggingface.co",
      key: config.HF_API_TOKEN,
      keyVariable: "HF_API_TOKEN",
    });
    if (hostOf(url) === RETIRED_HOST) {
      throw new ModelUnavailableError(
        `${RETIRED_HOST} no longer serves models. Unset HF_API_URL to use the Hugging Face ` +
          `router with a chat model (HF_MODEL), or point HF_API_URL at your own TGI server.`,
      );
    }
    await probeEndpoint({
      // TGI answers /health; on a classic model URL any answer shows the server is there.
      url: modelId ? url : `${url}/health`,
      label,
      urlVariable: "HF_API_URL",
      key: config.HF_API_TOKEN,
      keyVariable: "HF_API_TOKEN",
      timeoutMs: probeTimeout(config),
    }, fetchImpl);
  }

  return { name: `huggingface/${modelId ?? "gpt-j"}`, ready, generate, close: () => turns.close() };
}

/** "EleutherAI/gpt-j-6b" for an Inference API URL such as https://…/models/EleutherAI/gpt-j-6b. */
export function inferenceModelId(url: string): string | undefined {
  try {
    const match = new URL(url).pathname.match(/\/models\/([^/]+(?:\/[^/]+)?)\/*$/);
    return match ? decodeURIComponent(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function throwIfFailed(response: Response, label: string): Promise<void> {
  if (response.ok) return;
  const message = await errorMessageOf(response.clone());
  if (response.status === 503) {
    const estimate = await response.json().then((b) => b?.estimated_time, () => undefined);
    if (typeof estimate === "number" || /loading/i.test(message)) {
      const wait = typeof estimate === "number" ? ` (ready in about ${Math.ceil(estimate)} s)` : "";
      throw new ModelError(`the model is still loading${wait}; try again shortly. ${message}`);
    }
  }
  throw new ModelError(`${label} answered ${response.status}: ${message}`);
}

/** The text of one TGI stream event; special tokens (end of text) carry none. */
function streamedText(data: string, label: string): string {
  let event: { token?: { text?: unknown; special?: boolean }; error?: unknown };
  try {
    event = JSON.parse(data);
  } catch {
    throw new ModelError(`${label} sent a malformed event: ${data.slice(0, 200)}`);
  }
  if (event.error) throw new ModelError(`${label} failed mid-answer: ${String(event.error)}`);
  if (event.token?.special) return "";
  return typeof event.token?.text === "string" ? event.token.text : "";
}

/** The text of a classic answer: `[{"generated_text"}]`, or TGI /generate's bare object. */
function generatedText(body: unknown, label: string): string {
  const first = Array.isArray(body) ? body[0] : body;
  const text = (first as { generated_text?: unknown })?.generated_text;
  if (typeof text === "string") return text;
  const error = (body as { error?: unknown })?.error;
  if (error) throw new ModelError(`${label} failed: ${String(error)}`);
  return "";
}

// Any OpenAI-compatible chat completions endpoint: OpenAI itself, vLLM, Ollama, llama.cpp's
// server, the Hugging Face router. Replies are streamed over server-sent events.
import type { Config } from "../config.ts";
import { recentWithinBudget, systemPromptFor } from "./context.ts";
import { endpointReady, probeEndpoint, probeTimeout, unreachableReason } from "./endpoint.ts";
import { errorMessageOf, sseData } from "./sse.ts";
import { GuardedTurns } from "./turn_guard.ts";
import { type GenerateRequest, ModelError, type ModelProvider } from "./types.ts";

/** One chat completions service, as a provider names and reaches it. */
export interface ChatEndpoint {
  /** "<provider>/<model>" for /api/health. */
  name: string;
  /** The base URL that `/chat/completions` and `/models` hang off, e.g. https://api.openai.com/v1. */
  base: string;
  /** How errors name the service: "the model server at …". */
  label: string;
  model: string;
  key: string | undefined;
  /** The variables an operator fixes: where the URL and the key come from. */
  urlVariable: string;
  keyVariable: string;
  /** The hosted service's host suffix, which never works without a key. */
  hostedSuffix: string;
}

export function createOpenAIProvider(
  config: Config,
  fetchImpl: typeof fetch = fetch,
): ModelProvider {
  const base = config.OPENAI_BASE_URL.replace(/\/+$/, "");
  return createChatCompletionsProvider(
    {
      name: `openai/${config.OPENAI_MODEL}`,
      base,
      label: `the model server at ${base}`,
      model: config.OPENAI_MODEL,
      key: config.OPENAI_API_KEY,
      urlVariable: "OPENAI_BASE_URL",
      keyVariable: "OPENAI_API_KEY",
      hostedSuffix: "api.openai.com",
    },
    config,
    fetchImpl,
  );
}

/**
 * Errors: a non-2xx answer, an unreachable server (connection refused, DNS), an idle timeout and
 * an empty answer all fail the turn with ModelError, because the next turn may well succeed (a
 * restarted local server, a transient outage). ModelUnavailableError is raised by ready(), for
 * configuration that can never work and for a server that is not there or refuses the key.
 */
export function createChatCompletionsProvider(
  endpoint: ChatEndpoint,
  config: Config,
  fetchImpl: typeof fetch = fetch,
): ModelProvider {
  const { base, label } = endpoint;
  const turns = new GuardedTurns(config.MODEL_TIMEOUT_MS, label);

  function generate({ messages, signal, userName }: GenerateRequest): AsyncGenerator<string> {
    return turns.run(signal, async function* (guard) {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: "text/event-stream",
      };
      if (endpoint.key) headers.authorization = `Bearer ${endpoint.key}`;
      const response = await fetchImpl(`${base}/chat/completions`, {
        method: "POST",
        headers,
        signal: guard.signal,
        body: JSON.stringify({
          model: endpoint.model,
          messages: [
            { role: "system", content: systemPromptFor(config.SYSTEM_PROMPT, userName) },
            ...recentWithinBudget(messages, config.CONTEXT_MAX_CHARS).map((m) => ({
              role: m.role,
              content: m.content,
            })),
          ],
          stream: true,
          max_tokens: config.MAX_NEW_TOKENS,
        }),
      }).catch((err) => {
        throw new ModelError(`cannot reach ${label} (${unreachableReason(err)})`, { cause: err });
      });
      guard.touch();
      if (!response.ok) {
        const message = await errorMessageOf(response);
        throw new ModelError(`${label} answered ${response.status}: ${message}`);
      }
      if (!response.body) throw new ModelError(`${label} answered without a body`);
      if (!isEventStream(response)) {
        // A server that ignored `stream: true` still answers a whole completion.
        const content = choiceText(await response.json(), "message");
        yield content;
      } else {
        for await (const data of sseData(response.body, () => guard.touch())) {
          if (data.trim() === "[DONE]" || signal.aborted) break;
          const piece = choiceText(parseChunk(data, label), "delta");
          yield piece;
        }
      }
    });
  }

  async function ready(): Promise<void> {
    await endpointReady(base, endpoint.urlVariable, {
      suffix: endpoint.hostedSuffix,
      key: endpoint.key,
      keyVariable: endpoint.keyVariable,
    });
    await probeEndpoint({
      url: `${base}/models`,
      label,
      urlVariable: endpoint.urlVariable,
      key: endpoint.key,
      keyVariable: endpoint.keyVariable,
      timeoutMs: probeTimeout(config),
    }, fetchImpl);
  }

  return { name: endpoint.name, ready, generate, close: () => turns.close() };
}

function isEventStream(response: Response): boolean {
  const type = response.headers.get("content-type") ?? "";
  return !type.includes("application/json");
}

function parseChunk(data: string, label: string): unknown {
  let chunk: { error?: { message?: string } | string };
  try {
    chunk = JSON.parse(data);
  } catch {
    throw new ModelError(`${label} sent a malformed event: ${data.slice(0, 200)}`);
  }
  if (chunk?.error) {
    const message = typeof chunk.error === "string" ? chunk.error : chunk.error.message;
    throw new ModelError(`${label} failed mid-answer: ${message ?? "unknown error"}`);
  }
  return chunk;
}

function choiceText(body: unknown, field: "delta" | "message"): string {
  const choices = (body as { choices?: Array<Record<string, { content?: unknown }>> })?.choices;
  const content = choices?.[0]?.[field]?.content;
  return typeof content === "string" ? content : "";
}

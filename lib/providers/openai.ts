// Any OpenAI-compatible chat completions endpoint: OpenAI itself, vLLM, Ollama, llama.cpp's
// server. Replies are streamed over server-sent events.
import { endpointReady } from "./endpoint.ts";
import type { Config } from "../config.ts";
import { recentWithinBudget } from "./context.ts";
import { errorMessageOf, sseData } from "./sse.ts";
import { GuardedTurns } from "./turn_guard.ts";
import { type GenerateRequest, ModelError, type ModelProvider } from "./types.ts";

/**
 * Errors: a non-2xx answer, an unreachable server (connection refused, DNS), an idle timeout and
 * an empty answer all fail the turn with ModelError, because the next turn may well succeed (a
 * restarted local server, a transient outage). ModelUnavailableError is kept for configuration
 * that can never work, and is raised by ready().
 */
export function createOpenAIProvider(
  config: Config,
  fetchImpl: typeof fetch = fetch,
): ModelProvider {
  const base = config.OPENAI_BASE_URL.replace(/\/+$/, "");
  const label = `the model server at ${base}`;
  const turns = new GuardedTurns(config.MODEL_TIMEOUT_MS, label);

  function generate({ messages, signal }: GenerateRequest): AsyncGenerator<string> {
    return turns.run(signal, async function* (guard) {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: "text/event-stream",
      };
      if (config.OPENAI_API_KEY) headers.authorization = `Bearer ${config.OPENAI_API_KEY}`;
      const response = await fetchImpl(`${base}/chat/completions`, {
        method: "POST",
        headers,
        signal: guard.signal,
        body: JSON.stringify({
          model: config.OPENAI_MODEL,
          messages: [
            { role: "system", content: config.SYSTEM_PROMPT },
            ...recentWithinBudget(messages, config.CONTEXT_MAX_CHARS).map((m) => ({
              role: m.role,
              content: m.content,
            })),
          ],
          stream: true,
          max_tokens: config.MAX_NEW_TOKENS,
        }),
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
          const piece = choiceText(parseChunk(data), "delta");
          yield piece;
        }
      }
    });
  }

  return {
    name: `openai/${config.OPENAI_MODEL}`,
    ready: () =>
      endpointReady(base, "OPENAI_BASE_URL", {
        suffix: "api.openai.com",
        key: config.OPENAI_API_KEY,
        keyVariable: "OPENAI_API_KEY",
      }),
    generate,
    close: () => turns.close(),
  };
}

function isEventStream(response: Response): boolean {
  const type = response.headers.get("content-type") ?? "";
  return !type.includes("application/json");
}

function parseChunk(data: string): unknown {
  let chunk: { error?: { message?: string } | string };
  try {
    chunk = JSON.parse(data);
  } catch {
    throw new ModelError(`the model server sent a malformed event: ${data.slice(0, 200)}`);
  }
  if (chunk?.error) {
    const message = typeof chunk.error === "string" ? chunk.error : chunk.error.message;
    throw new ModelError(`the model server failed mid-answer: ${message ?? "unknown error"}`);
  }
  return chunk;
}

function choiceText(body: unknown, field: "delta" | "message"): string {
  const choices = (body as { choices?: Array<Record<string, { content?: unknown }>> })?.choices;
  const content = choices?.[0]?.[field]?.content;
  return typeof content === "string" ? content : "";
}

// Any OpenAI-compatible chat completions endpoint: OpenAI itself, vLLM, Ollama, llama.cpp's
// server. Replies are streamed over server-sent events.
import { endpointReady } from "./endpoint.ts";
import type { Config } from "../config.ts";
import { recentWithinBudget } from "./context.ts";
import { errorMessageOf, sseData, TurnGuard } from "./sse.ts";
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
  const active = new Set<TurnGuard>();

  async function* generate({ messages, signal }: GenerateRequest): AsyncGenerator<string> {
    if (signal.aborted) return;
    const guard = new TurnGuard(signal, config.MODEL_TIMEOUT_MS);
    active.add(guard);
    let produced = false;
    try {
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
        if (content) {
          produced = true;
          yield content;
        }
      } else {
        for await (const data of sseData(response.body, () => guard.touch())) {
          if (data.trim() === "[DONE]" || signal.aborted) break;
          const piece = choiceText(parseChunk(data), "delta");
          if (piece) {
            produced = true;
            yield piece;
          }
        }
      }
    } catch (err) {
      const failure = guard.failure(err, label);
      if (failure) throw failure;
      return;
    } finally {
      active.delete(guard);
      guard.dispose();
    }
    if (!produced && !signal.aborted) throw new ModelError(`${label} sent an empty answer`);
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
    close() {
      for (const guard of active) guard.dispose();
      active.clear();
      return Promise.resolve();
    },
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

// The seed's GPT-J, served by a text-generation-inference (TGI) server or the classic Hugging Face
// Inference API. TGI streams tokens; the Inference API answers one JSON document per turn.
import { endpointReady } from "./endpoint.ts";
import type { Config } from "../config.ts";
import { humanBotPrompt, recentWithinBudget } from "./context.ts";
import { errorMessageOf, sseData } from "./sse.ts";
import { GuardedTurns } from "./turn_guard.ts";
import { type GenerateRequest, ModelError, type ModelProvider } from "./types.ts";

/** Where the seed's model lived when HF_API_URL is unset but a token is given. */
export const DEFAULT_HF_API_URL = "https://api-inference.huggingface.co/models/EleutherAI/gpt-j-6b";

/** GPT-J does not know when its turn ends: it goes on to write the human's next line. */
const STOP = "\nHuman:";

type Mode = "stream" | "legacy";

/**
 * Failures follow the OpenAI provider: every per-turn failure (HTTP error, "model is loading",
 * unreachable server, idle timeout, empty answer) is a ModelError; ready() raises
 * ModelUnavailableError for configuration that cannot work.
 */
export function createHuggingFaceProvider(
  config: Config,
  fetchImpl: typeof fetch = fetch,
): ModelProvider {
  const url = (config.HF_API_URL ?? DEFAULT_HF_API_URL).replace(/\/+$/, "");
  const modelId = inferenceModelId(url);
  const label = `the Hugging Face endpoint at ${url}`;
  // A classic Inference API model URL has no TGI routes; anything else is probed once.
  let mode: Mode | undefined = modelId ? "legacy" : undefined;
  const turns = new GuardedTurns(config.MODEL_TIMEOUT_MS, label);

  const headers: Record<string, string> = { "content-type": "application/json" };
  if (config.HF_API_TOKEN) headers.authorization = `Bearer ${config.HF_API_TOKEN}`;

  function generate({ messages, signal }: GenerateRequest): AsyncGenerator<string> {
    const prompt = humanBotPrompt(
      recentWithinBudget(messages, config.CONTEXT_MAX_CHARS),
      config.SYSTEM_PROMPT,
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

  return {
    name: `huggingface/${modelId ?? "gpt-j"}`,
    ready: () =>
      endpointReady(url, "HF_API_URL", {
        suffix: "huggingface.co",
        key: config.HF_API_TOKEN,
        keyVariable: "HF_API_TOKEN",
      }),
    generate,
    close: () => turns.close(),
  };
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

/**
 * Turns raw model output into the reply: drops leading whitespace, and ends the reply where the
 * model starts writing the human's next line. Text that might be the start of that marker (or
 * trailing whitespace before it) is held back until the next piece shows what it is.
 */
export class ReplyCutter {
  #pending = "";
  #emitted = false;
  #finished = false;

  get finished(): boolean {
    return this.#finished;
  }

  push(text: string): string {
    if (this.#finished) return "";
    this.#pending += text;
    if (!this.#emitted) this.#pending = this.#pending.trimStart();
    if (!this.#pending) return "";
    // Before anything is out, the reply itself may open with "Human:".
    const view = this.#emitted ? this.#pending : "\n" + this.#pending;
    const shift = this.#emitted ? 0 : 1;
    const cut = view.indexOf(STOP);
    if (cut >= 0) {
      this.#finished = true;
      const out = this.#pending.slice(0, Math.max(0, cut - shift)).trimEnd();
      this.#pending = "";
      return this.#take(out);
    }
    const hold = Math.min(heldWhitespace(view), heldMarkerPrefix(view)) - shift;
    const out = this.#pending.slice(0, Math.max(0, hold));
    this.#pending = this.#pending.slice(out.length);
    return this.#take(out);
  }

  end(): string {
    if (this.#finished) return "";
    this.#finished = true;
    const out = this.#pending.trimEnd();
    this.#pending = "";
    return this.#take(out);
  }

  #take(out: string): string {
    if (out) this.#emitted = true;
    return out;
  }
}

/** Start of the trailing whitespace run of `text` (text.length when there is none). */
function heldWhitespace(text: string): number {
  return text.length - (text.length - text.trimEnd().length);
}

/** Start of the longest suffix of `text` that is a proper prefix of the stop marker. */
function heldMarkerPrefix(text: string): number {
  for (let n = Math.min(STOP.length - 1, text.length); n > 0; n--) {
    if (STOP.startsWith(text.slice(text.length - n))) return text.length - n;
  }
  return text.length;
}

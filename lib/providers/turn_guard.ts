// Streaming-HTTP plumbing shared by the remote providers: a server-sent-events reader, the idle
// timeout / Stop wiring of one request, and turning a failed response into a readable message.
import { ModelError } from "./types.ts";

/**
 * Yields the `data` of each server-sent event in `body` (multi-line data joined with "\n").
 * `onBytes` runs on every chunk received, so the caller can reset an idle timer on raw progress
 * rather than on whole events.
 */
export async function* sseData(
  body: ReadableStream<Uint8Array>,
  onBytes?: () => void,
): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let hasData = false;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      onBytes?.();
      buffer += decoder.decode(value, { stream: true });
      let lineEnd: number;
      while ((lineEnd = buffer.search(/\r\n|\n|\r/)) >= 0) {
        // A "\r" at the very end may be the first half of a "\r\n" split across chunks.
        if (buffer[lineEnd] === "\r" && lineEnd === buffer.length - 1) break;
        const line = buffer.slice(0, lineEnd);
        buffer = buffer.slice(lineEnd + (buffer.startsWith("\r\n", lineEnd) ? 2 : 1));
        if (line === "") {
          if (hasData) yield data.join("\n");
          data = [];
          hasData = false;
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
          hasData = true;
        }
        // Comments (":"), "event:", "id:" and "retry:" lines carry nothing the providers use.
      }
    }
    // Be lenient with servers that end the last event without its blank line.
    const rest = (buffer + decoder.decode()).replace(/\r$/, "");
    if (rest.startsWith("data:")) {
      data.push(rest.slice(rest.startsWith("data: ") ? 6 : 5));
      hasData = true;
    }
    if (hasData) yield data.join("\n");
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * The life of one model request: one AbortSignal for fetch that fires when the caller stops the
 * turn, when the server sends nothing for `idleMs`, or when the request is disposed (closing the
 * connection, which is how a server learns to stop generating).
 */
export class TurnGuard {
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal;
  readonly #idleMs: number;
  readonly #onCallerAbort = () => this.#controller.abort(this.#caller.reason);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOut = false;
  #disposed = false;

  constructor(callerSignal: AbortSignal, idleMs: number) {
    this.#caller = callerSignal;
    this.#idleMs = idleMs;
    callerSignal.addEventListener("abort", this.#onCallerAbort, { once: true });
    if (callerSignal.aborted) this.#onCallerAbort();
    this.touch();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get callerAborted(): boolean {
    return this.#caller.aborted;
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** The server showed a sign of life: restart the idle clock. */
  touch(): void {
    clearTimeout(this.#timer);
    if (this.#controller.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort(new DOMException("model request timed out", "TimeoutError"));
    }, this.#idleMs);
  }

  /** Maps whatever ended the request to the error the turn should fail with; null = stopped. */
  failure(err: unknown, what: string): ModelError | null {
    // Stopped by the caller, or the provider closed under it: end the turn quietly.
    if (this.callerAborted || this.#disposed) return null;
    if (this.#timedOut) {
      return new ModelError(`${what} timed out: nothing received for ${this.#idleMs} ms`);
    }
    if (err instanceof ModelError) return err;
    const detail = err instanceof Error ? err.message : String(err);
    return new ModelError(`${what} failed: ${detail}`);
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    this.#caller.removeEventListener("abort", this.#onCallerAbort);
    this.#controller.abort(new DOMException("model request finished", "AbortError"));
  }
}

/**
 * Runs each turn's model request under a TurnGuard, skipping empty pieces: failures become the
 * turn's ModelError, a stop ends quietly, an answer with no text at all is an error, and close()
 * cuts every open request.
 */
export class GuardedTurns {
  readonly #active = new Set<TurnGuard>();

  constructor(private readonly idleMs: number, private readonly label: string) {}

  async *run(
    signal: AbortSignal,
    request: (guard: TurnGuard) => AsyncIterable<string>,
  ): AsyncGenerator<string> {
    if (signal.aborted) return;
    const guard = new TurnGuard(signal, this.idleMs);
    this.#active.add(guard);
    let produced = false;
    try {
      for await (const piece of request(guard)) {
        if (!piece) continue;
        produced = true;
        yield piece;
      }
    } catch (err) {
      const failure = guard.failure(err, this.label);
      if (failure) throw failure;
      return;
    } finally {
      this.#active.delete(guard);
      guard.dispose();
    }
    if (!produced && !signal.aborted) throw new ModelError(`${this.label} sent an empty answer`);
  }

  close(): Promise<void> {
    for (const guard of this.#active) guard.dispose();
    this.#active.clear();
    return Promise.resolve();
  }
}

/** The human-readable part of an error response from OpenAI, TGI or the HF Inference API. */
export async function errorMessageOf(response: Response): Promise<string> {
  const text = (await response.text()).trim();
  let message = "";
  try {
    const body = JSON.parse(text);
    const error = body?.error ?? body?.detail ?? body?.message;
    if (typeof error === "string") message = error;
    else if (Array.isArray(error)) message = error.map(String).join("; ");
    else if (typeof error?.message === "string") message = error.message;
  } catch {
    // Not JSON: a proxy's HTML page or plain text; the start of it is still the best clue.
  }
  if (!message) message = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 300);
  return message || response.statusText || "no details";
}

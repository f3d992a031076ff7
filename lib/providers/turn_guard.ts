// One guard for every provider's turns (remote and embedded alike): an idle timeout of
// MODEL_TIMEOUT_MS, Stop, close(), an empty answer, and failures as readable ModelErrors.
import { ModelError, ModelUnavailableError } from "./types.ts";

/** Why a finished request's signal aborts: one shared reason, not an exception built per turn. */
const FINISHED = new DOMException("model request finished", "AbortError");

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
  #lastSign = 0;
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

  /**
   * The server showed a sign of life: restart the idle clock. Called for every chunk and piece,
   * so it only notes the time; the one timer looks at it when it fires (re-arming a timer per
   * token cost a worker more CPU than parsing the tokens).
   */
  touch(): void {
    this.#lastSign = Date.now();
    if (this.#timer === undefined && !this.#controller.signal.aborted) this.#arm(this.#idleMs);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#controller.signal.aborted) return;
      const silent = Date.now() - this.#lastSign;
      if (silent < this.#idleMs) return this.#arm(this.#idleMs - silent);
      this.#timedOut = true;
      this.#controller.abort(new DOMException("model request timed out", "TimeoutError"));
    }, ms);
  }

  /** The error of a request that timed out, else null. */
  timeout(what: string): ModelError | null {
    if (!this.#timedOut || this.callerAborted) return null;
    return new ModelError(`${what} timed out: nothing received for ${this.#idleMs} ms`);
  }

  /** Maps whatever ended the request to the error the turn should fail with; null = stopped. */
  failure(err: unknown, what: string): ModelError | ModelUnavailableError | null {
    // Stopped by the caller, or the provider closed under it: end the turn quietly.
    if (this.callerAborted || this.#disposed) return null;
    const timeout = this.timeout(what);
    if (timeout) return timeout;
    if (err instanceof ModelError || err instanceof ModelUnavailableError) return err;
    const detail = err instanceof Error ? err.message : String(err);
    return new ModelError(`${what} failed: ${detail}`);
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    this.#caller.removeEventListener("abort", this.#onCallerAbort);
    this.#controller.abort(FINISHED);
  }
}

/**
 * Runs each turn's model request under a TurnGuard, skipping empty pieces: failures become the
 * turn's ModelError, a stop ends quietly, an answer with no text at all is an error, and close()
 * cuts every open request.
 */
export class GuardedTurns {
  readonly #active = new Set<TurnGuard>();
  #closed = false;

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
        guard.touch();
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
    // A request that ends quietly when its signal aborts (the embedded model) still timed out.
    const timeout = guard.timeout(this.label);
    if (timeout) throw timeout;
    if (!produced && !signal.aborted && !this.#closed) {
      throw new ModelError(`${this.label} sent an empty answer`);
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const guard of this.#active) guard.dispose();
    this.#active.clear();
    return Promise.resolve();
  }
}

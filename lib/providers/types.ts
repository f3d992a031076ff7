// The one interface every model provider implements; the worker is the only caller.
import type { Message } from "../contract/frames.ts";

export interface GenerateRequest {
  /** The conversation so far, oldest first, ending with the user's turn. */
  messages: Message[];
  /** Aborted when the user presses Stop or the worker shuts down. */
  signal: AbortSignal;
  /** What the user is called (their session's name): the system prompt tells the model. */
  userName?: string;
}

export interface ModelProvider {
  /** "<provider>/<model>", as /api/health reports it. */
  readonly name: string;
  /**
   * What runs the embedded model, for the worker to log and announce: "cpu", or the GPU backend
   * and devices, e.g. "cuda: NVIDIA GeForce RTX 4090". Known once ready() resolved; remote
   * providers leave it undefined (their hardware is the server's business).
   */
  readonly gpu?: string;
  /** Resolves when the model can answer; rejects with ModelUnavailableError when it cannot. */
  ready(): Promise<void>;
  /** Streams the reply as text pieces; ends early (no error) when `signal` aborts. */
  generate(request: GenerateRequest): AsyncIterable<string>;
  close(): Promise<void>;
}

/** No model can be used at all (missing file, endpoint not configured). */
export class ModelUnavailableError extends Error {
  override name = "ModelUnavailableError";
}

/** The model failed, timed out or answered nothing for this turn. */
export class ModelError extends Error {
  override name = "ModelError";
}

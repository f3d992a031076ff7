// Batches a reply's text into the session's reply stream: the first piece goes out at once (for
// latency), later pieces gather while a write is in flight or younger than `batchMs`, so a fast
// model costs a bounded number of Redis requests per second and never a resend of the whole text.

import { log } from "../log.ts";
import type { AppendOutcome } from "../redis/turn_queue.ts";

export class ReplyWriter {
  #pending = "";
  #offset = 0;
  #lastWrite = 0;
  #inFlight: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private write: (text: string, offset: number) => Promise<AppendOutcome>,
    private onOutcome: (outcome: AppendOutcome) => void,
    private batchMs = 30,
  ) {}

  push(text: string): void {
    if (!text) return;
    this.#pending += text;
    this.#schedule();
  }

  /** Resolves once everything pushed so far is written. */
  async drain(): Promise<void> {
    for (;;) {
      await this.#settle();
      if (!this.#pending) return;
      this.#flush();
    }
  }

  /**
   * Waits for writes in flight and hands over what is still pending instead of writing it (the
   * caller sends it with the turn's ending: one request, not two); undefined when nothing is.
   */
  async takeRest(): Promise<{ text: string; offset: number } | undefined> {
    await this.#settle();
    if (!this.#pending) return undefined;
    const rest = { text: this.#pending, offset: this.#offset };
    this.#offset += this.#pending.length;
    this.#pending = "";
    return rest;
  }

  /** No batch timer left, and no write in flight (one that ends may schedule the next). */
  async #settle(): Promise<void> {
    for (;;) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      if (!this.#inFlight) return;
      await this.#inFlight;
    }
  }

  #schedule(): void {
    if (this.#inFlight || this.#timer !== undefined) return;
    const wait = this.#lastWrite + this.batchMs - Date.now();
    if (wait <= 0) this.#flush();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flush();
      }, wait);
    }
  }

  #flush(): void {
    if (!this.#pending) return;
    const text = this.#pending;
    const offset = this.#offset;
    this.#pending = "";
    this.#offset += text.length;
    this.#lastWrite = Date.now();
    this.#inFlight = this.write(text, offset).then(this.onOutcome, (err) => {
      log.error("writing a delta failed", { error: String(err) });
    }).finally(() => {
      this.#inFlight = null;
      if (this.#pending) this.#schedule();
    });
  }
}

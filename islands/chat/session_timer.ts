// Whether to warn that the session is about to expire. While the socket is open the server keeps
// the session alive, so the warning only comes after the page has been disconnected for a while
// (offline, server down); the rules are expiry.ts's, this only keeps time.
import { signal } from "@preact/signals";
import { type SessionClock, ttlFrom, warning } from "./expiry.ts";

export class SessionTimer {
  /** Milliseconds left when the warning is due, else null. */
  readonly warning = signal<number | null>(null);
  #clock: SessionClock = { ttlMs: 0, aliveAt: 0 };
  #open = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** A fresh `expires_at` from the server: the session was refreshed just now. */
  learn(expiresAt: string): void {
    const now = Date.now();
    this.#clock = { ttlMs: ttlFrom(expiresAt, now), aliveAt: now };
    this.#start();
    this.#check();
  }

  /** The socket opened or closed. */
  linked(open: boolean): void {
    if (this.#open && !open) this.#clock = { ...this.#clock, aliveAt: Date.now() };
    this.#open = open;
    this.#check();
  }

  /** The server said something: the session is alive. */
  alive(): void {
    this.#clock = { ...this.#clock, aliveAt: Date.now() };
  }

  dispose(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #start(): void {
    if (this.#timer !== undefined || !this.#clock.ttlMs) return;
    const every = Math.max(250, Math.min(15_000, this.#clock.ttlMs / 8));
    this.#timer = setInterval(() => this.#check(), every);
  }

  #check(): void {
    const left = warning(this.#clock, this.#open, Date.now());
    // Rounded to whole minutes (seconds when short), so the signal changes rarely.
    const shown = left === null ? null : left > 60_000 ? Math.ceil(left / 60_000) * 60_000 : left;
    if (shown !== this.warning.value) this.warning.value = shown;
  }
}

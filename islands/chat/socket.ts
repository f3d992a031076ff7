// A WebSocket that comes back by itself: exponential backoff with jitter, an immediate retry when
// the browser goes back online, and no retry once the server says the session is gone (1008).
import type { LinkState } from "../../components/types.ts";
import { backoffDelay } from "./events.ts";

export interface SocketHandlers {
  onState(state: LinkState): void;
  /** Every (re)open: the place to send `resume` and re-send unacknowledged turns. */
  onOpen(isReconnect: boolean): void;
  onData(data: unknown): void;
}

export const SESSION_GONE = 1008;
/** A handshake that hangs (a half-dead server) counts as a failed attempt after this long. */
const CONNECT_TIMEOUT_MS = 10_000;

export class ReconnectingSocket {
  #ws: WebSocket | null = null;
  #attempt = 0;
  #opened = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(readonly url: () => string, readonly handlers: SocketHandlers) {
    globalThis.addEventListener("online", this.#onOnline);
  }

  connect(): void {
    if (this.#stopped || this.#ws) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.handlers.onState({ kind: "connecting", attempt: this.#attempt });
    const ws = new WebSocket(this.url());
    this.#ws = ws;
    const handshake = setTimeout(() => ws.close(), CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(handshake);
      const isReconnect = this.#opened;
      this.#opened = true;
      this.#attempt = 0;
      this.handlers.onState({ kind: "open" });
      this.handlers.onOpen(isReconnect);
    };
    ws.onmessage = (e) => this.handlers.onData(e.data);
    ws.onclose = (e) => {
      clearTimeout(handshake);
      if (this.#ws !== ws) return;
      this.#ws = null;
      if (this.#stopped) return;
      if (e.code === SESSION_GONE) {
        this.#stopped = true;
        this.handlers.onState({ kind: "expired", reason: e.reason });
        return;
      }
      this.#scheduleRetry();
    };
  }

  /** False when the socket is not open: the caller keeps the frame and re-sends it in onOpen. */
  send(text: string): boolean {
    if (this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(text);
    return true;
  }

  /** Skips the rest of a backoff wait (the person pressed "Retry now"). */
  retryNow(): void {
    if (!this.#stopped && !this.#ws) this.connect();
  }

  close(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    globalThis.removeEventListener("online", this.#onOnline);
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(1000);
    this.handlers.onState({ kind: "closed" });
  }

  #scheduleRetry(): void {
    if (!navigator.onLine) {
      this.handlers.onState({ kind: "offline" });
      return;
    }
    const delay = backoffDelay(this.#attempt++);
    this.handlers.onState({ kind: "waiting", retryAt: Date.now() + delay, attempt: this.#attempt });
    this.#timer = setTimeout(() => this.connect(), delay);
  }

  #onOnline = (): void => {
    if (!this.#stopped && !this.#ws) this.connect();
  };
}

// Open sockets keep their sessions alive (see keepAliveMs in chat_connection.ts) on one timer per
// web server rather than an interval per socket: an idle socket then costs no timer of its own.
// Sockets are dealt round-robin into slices, one slice touched per tick, so each socket is still
// touched once per period and a thousand of them never touch all at once.

export interface KeptAlive {
  touch(): void;
}

const SLICES = 10;

export class KeepAlive {
  readonly #slices: Set<KeptAlive>[] = Array.from({ length: SLICES }, () => new Set());
  #dealt = 0;
  #tick = 0;
  #size = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly everyMs: number) {}

  add(socket: KeptAlive): void {
    this.#slices[this.#dealt++ % SLICES].add(socket);
    this.#size++;
    this.#timer ??= setInterval(() => {
      for (const s of this.#slices[this.#tick++ % SLICES]) s.touch();
    }, this.everyMs / SLICES);
  }

  delete(socket: KeptAlive): void {
    if (!this.#slices.some((slice) => slice.delete(socket)) || --this.#size) return;
    // No socket left: no timer (it would keep an idle process busy, and tests from exiting).
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

const byPeriod = new Map<number, KeepAlive>();

/** The server's keep-alive for sockets touched every `everyMs`. */
export function keepAlive(everyMs: number): KeepAlive {
  let k = byPeriod.get(everyMs);
  if (!k) byPeriod.set(everyMs, k = new KeepAlive(everyMs));
  return k;
}

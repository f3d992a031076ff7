// When the session will expire, as far as the page can tell, and whether to warn. An open socket
// keeps the session alive (the server refreshes it while the socket is open), so the clock only
// runs while the page is disconnected. Pure, so the rules are unit-tested.

export interface SessionClock {
  /** The session's lifetime, learned from the server's `expires_at` when it was last read. */
  ttlMs: number;
  /** When the session was last known to be refreshed: now while the socket is open. */
  aliveAt: number;
}

/** The server refreshes an open socket's session this often (see chat_connection.ts). */
export const keepAliveMs = (ttlMs: number): number => Math.min(60_000, ttlMs / 3);

/** The ttl a fresh `expires_at` implies, read at `now`. */
export const ttlFrom = (expiresAt: string, now: number): number =>
  Math.max(0, Date.parse(expiresAt) - now);

/**
 * When the session ends if nothing refreshes it. While the socket is open it is kept alive; once it
 * closes, the last refresh may have been up to one keep-alive period before.
 */
export function deadline(clock: SessionClock, linkOpen: boolean, now: number): number {
  if (linkOpen) return now + clock.ttlMs;
  return clock.aliveAt - keepAliveMs(clock.ttlMs) + clock.ttlMs;
}

/** Warn this long before: five minutes, or a quarter of a short session. */
export const warnBeforeMs = (ttlMs: number): number => Math.min(5 * 60_000, ttlMs / 4);

/** Milliseconds left when a warning is due, else null. */
export function warning(clock: SessionClock, linkOpen: boolean, now: number): number | null {
  if (clock.ttlMs <= 0) return null;
  const left = deadline(clock, linkOpen, now) - now;
  return left <= warnBeforeMs(clock.ttlMs) ? Math.max(0, left) : null;
}

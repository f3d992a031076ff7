// Reply-stream bookkeeping shared by the chat island and its unit tests: pure functions only.

/** Orders Redis stream ids ("<ms>-<seq>") numerically, part by part; "5" reads as "5-0". */
export function compareEventIds(a: string, b: string): number {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  const parts: Array<[string, string]> = [[am, bm], [as, bs]];
  for (const [x, y] of parts) {
    const nx = Number(x), ny = Number(y);
    if (Number.isNaN(nx) || Number.isNaN(ny)) return x < y ? -1 : x > y ? 1 : 0;
    if (nx !== ny) return nx < ny ? -1 : 1;
  }
  return 0;
}

/** True when `event` is newer than the last applied one (or nothing was applied yet). */
export function isNewEvent(event: string, lastApplied: string | null): boolean {
  return lastApplied === null || compareEventIds(event, lastApplied) > 0;
}

export type DeltaResult =
  | { kind: "applied"; text: string }
  /** The delta starts past the end of what we hold: earlier pieces were missed. */
  | { kind: "gap" };

/**
 * Places a delta at its offset in the reply held so far. A smaller offset means the turn was
 * retried (by another worker after a crash), so what followed that point is dropped.
 */
export function applyDelta(held: string, offset: number, text: string): DeltaResult {
  if (offset > held.length) return { kind: "gap" };
  return { kind: "applied", text: held.slice(0, offset) + text };
}

/** Capped exponential backoff with "equal jitter" (half fixed, half random), so clients that lost
 * the same server do not all come back in the same instant. */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  baseMs = 500,
  maxMs = 15_000,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}

// Reply-stream bookkeeping shared by the chat island and its unit tests: pure functions only.
import { compareStreamIds } from "../../lib/contract/stream_ids.ts";

/** True when `event` is newer than the last applied one (or nothing was applied yet). */
export function isNewEvent(event: string, lastApplied: string | null): boolean {
  return lastApplied === null || compareStreamIds(event, lastApplied) > 0;
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

// Turns sent but not yet answered, and a Stop the socket could not take: what every (re)open must
// send again. Pure data, so the resend rules are unit-tested without a socket.
import type { ClientFrame, TurnFrame } from "../../lib/contract/frames.ts";

export interface OutboxTurn {
  readonly id: string;
  readonly content: string;
  /** The server has it: after a reconnect only the reply is still awaited, not a re-send. */
  readonly acked: boolean;
  /** What to send (an edit, a regenerate, a conversation's message); absent: a plain message. */
  readonly frame?: TurnFrame;
}

export interface Outbox {
  /** In send order: the server answers frames in order, and a resend keeps it. */
  readonly turns: readonly OutboxTurn[];
  /** The turn to stop, while the Stop is unsent. */
  readonly stop: string | null;
}

export const emptyOutbox: Outbox = { turns: [], stop: null };

/** Adds a turn at the end; a turn already queued keeps its place, as the server dedupes by id. */
export function queue(outbox: Outbox, id: string, content: string, frame?: TurnFrame): Outbox {
  const turn: OutboxTurn = frame
    ? { id, content, acked: false, frame }
    : { id, content, acked: false };
  const at = outbox.turns.findIndex((t) => t.id === id);
  const turns = at < 0 ? [...outbox.turns, turn] : outbox.turns.map((t, i) => i === at ? turn : t);
  return { ...outbox, turns };
}

export function ack(outbox: Outbox, id: string): Outbox {
  if (!outbox.turns.some((t) => t.id === id && !t.acked)) return outbox;
  return { ...outbox, turns: outbox.turns.map((t) => t.id === id ? { ...t, acked: true } : t) };
}

/** The turn got its answer (a reply or an error): nothing about it is left to send. */
export function settle(outbox: Outbox, id: string): Outbox {
  if (!isQueued(outbox, id)) return outbox;
  return { ...outbox, turns: outbox.turns.filter((t) => t.id !== id) };
}

export const isQueued = (outbox: Outbox, id: string): boolean =>
  outbox.turns.some((t) => t.id === id);

/** The server answers in order, so an error that names no turn belongs to this one. */
export const oldestUnacked = (outbox: Outbox): string | undefined =>
  outbox.turns.find((t) => !t.acked)?.id;

export const withStop = (outbox: Outbox, id: string): Outbox => ({ ...outbox, stop: id });

export const stopSent = (outbox: Outbox): Outbox =>
  outbox.stop === null ? outbox : { ...outbox, stop: null };

export interface ReplayPoint {
  /** The newest reply event this page applied. */
  lastEvent: string | null;
  /** Where a freshly loaded page replays from, so a reply in progress at reload continues. */
  resumeFrom: string | null;
  isReconnect: boolean;
}

/**
 * The frames for a socket that just opened: the replay request, the unacked turns in the order
 * they were first sent, then the Stop, which must not reach the server before the turn it names.
 * The server dedupes by turn id, so re-sending a turn whose ack was lost is safe.
 */
export function reopenFrames(outbox: Outbox, point: ReplayPoint): ClientFrame[] {
  const after = replayAfter(point);
  const frames: ClientFrame[] = after === null ? [] : [{ type: "resume", after }];
  for (const t of outbox.turns) {
    if (!t.acked) frames.push(t.frame ?? { type: "message", id: t.id, content: t.content });
  }
  if (outbox.stop) frames.push({ type: "stop", id: outbox.stop });
  return frames;
}

/** Where a (re)opened socket replays from: this page's last event, the saved one, or the start. */
export const replayAfter = (point: ReplayPoint): string | null =>
  point.lastEvent ?? point.resumeFrom ?? (point.isReconnect ? "0-0" : null);

/** For the outboxes after the first: their frames, without a second `resume`. */
export const NO_REPLAY: ReplayPoint = { lastEvent: null, resumeFrom: null, isReconnect: false };

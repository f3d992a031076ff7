// The worker's decisions about one turn, as pure functions of what it knows, so they are
// unit-tested without Redis or a model.
import type { ErrorCode, Message } from "../contract/frames.ts";
import type { AppendOutcome, HeartbeatOutcome } from "../redis/turn_queue.ts";

/** What visitors read when their turn fails; the reason goes to the worker's log. */
export const TURN_MESSAGES = {
  failed: "The assistant could not answer this time. Please try again.",
  noModel: "The assistant is not available right now. Please try again in a little while.",
  gaveUp: "This message could not be answered after several attempts.",
} as const;

/** Why a turn's generation was cut short: an AbortSignal reason the worker sets. */
export type StopReason = "stop" | "lost" | "shutdown" | "session_gone" | "not_streaming";

/** A turn handed out more often than this keeps killing workers: it is failed, not retried. */
export const MAX_DELIVERIES = 5;

export type Start =
  | { kind: "ack_only" }
  | { kind: "give_up" }
  | { kind: "model_unavailable" }
  | { kind: "run" };

/** What to do with a turn just read or claimed. */
export function startTurn(
  turn: { token: string; turn: string },
  claimed: boolean,
  deliveries: number,
  modelReady: boolean,
): Start {
  if (!turn.token || !turn.turn) return { kind: "ack_only" };
  if (claimed && deliveries > MAX_DELIVERIES) return { kind: "give_up" };
  if (!modelReady) return { kind: "model_unavailable" };
  return { kind: "run" };
}

/**
 * What the model sees of a turn's conversation: everything up to the user message it answers,
 * without earlier messages whose turns failed (their question was never answered). Empty when that
 * message is gone: the session expired or the conversation was deleted, and FINISH_TURN drops it.
 */
export function turnMessages(history: Message[], ask: string): Message[] {
  const at = history.findIndex((m) => m.role === "user" && m.id === ask);
  if (at < 0) return [];
  return history.slice(0, at + 1).filter((m, i) => i === at || !m.error)
    .map(({ id, role, content, timestamp }) => ({ id, role, content, timestamp }));
}

/** The reason to abort generation after a delta write, if any. */
export function afterAppend(outcome: AppendOutcome): StopReason | null {
  return outcome === "go_on" ? null : outcome;
}

/** The reason to abort generation after a heartbeat, if any. */
export function afterHeartbeat(outcome: HeartbeatOutcome): StopReason | null {
  return outcome === "go_on" ? null : outcome;
}

export type Ending =
  | { kind: "leave" }
  | { kind: "done"; stopped: boolean }
  | { kind: "failed"; code: ErrorCode; message: string };

/** How a turn whose generation has ended is recorded. */
export function endTurn(reason: StopReason | null, reply: string, hadContext: boolean): Ending {
  // Another worker owns it now, or it stays pending for another worker to claim.
  if (reason === "lost" || reason === "not_streaming" || reason === "shutdown") {
    return { kind: "leave" };
  }
  const stopped = reason === "stop";
  if (!stopped && !reply.trim() && hadContext) {
    return { kind: "failed", code: "model_error", message: "The model returned an empty answer." };
  }
  return { kind: "done", stopped };
}

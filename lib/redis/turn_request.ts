// What the turn scripts are given, built as pure functions: a turn's ACCEPT_TURN arguments (which
// conversation, and whether it is a message, an edit or a regenerate), and what the web server
// commits for a turn no worker will finish.
import { DEFAULT_CONVERSATION, titleFromMessage } from "../contract/conversations.ts";
import type { TurnError } from "../contract/frames.ts";
import { errorJson, messageJson } from "./message_members.ts";
import type { ReplyEntry } from "./reply_entry.ts";

export type TurnKind = "message" | "edit" | "regenerate";

/** Turns per session: at most `limit` in any `windowMs`, exactly. */
export interface TurnRate {
  limit: number;
  windowMs: number;
}

export interface TurnRequest {
  /** Absent: the default conversation, created on its first turn. */
  conversation?: string;
  kind?: TurnKind;
  /** edit: the user message replaced; message: a failed user message this turn retries. */
  target?: string;
}

/** The id of the assistant message that answers a turn (client ids never contain ":"). */
export const replyMessageId = (turn: string) => `${turn}:a`;

/** Apply a reply's deltas in order: each starts at its offset (a retried turn restarts at 0). */
export function seenText(entries: ReplyEntry[], turn: string): string {
  let text = "";
  for (const e of entries) {
    if (e.type === "delta" && e.id === turn) text = text.slice(0, Number(e.offset) || 0) + e.text;
  }
  return text;
}

/** ACCEPT_TURN's ARGV (see scripts.ts). */
export function acceptArgs(
  t: TurnRequest & {
    token: string;
    turnId: string;
    content: string;
    requestId: string;
    ttl: number;
    /** The session's name, for the worker's system prompt ('' when none). */
    userName?: string;
  },
  limits: { maxConversations: number; rate: TurnRate },
  /** The workers it may be handed to (handoff.ts: candidatesArg). */
  candidates = "",
  nowMs = Date.now(),
): string[] {
  const now = new Date(nowMs).toISOString();
  const conversation = t.conversation ?? DEFAULT_CONVERSATION;
  const kind = t.kind ?? "message";
  const json = kind === "regenerate"
    ? ""
    : messageJson({ id: t.turnId, role: "user", content: t.content, timestamp: now });
  return [
    t.turnId,
    t.content,
    now,
    String(t.ttl),
    t.token,
    t.requestId,
    conversation,
    kind,
    t.target ?? "",
    json,
    kind === "regenerate" ? "" : titleFromMessage(t.content),
    String(limits.maxConversations),
    conversation === DEFAULT_CONVERSATION ? "1" : "0",
    String(nowMs),
    String(limits.rate.windowMs),
    String(limits.rate.limit),
    t.userName ?? "",
    candidates,
  ];
}

/**
 * How the web server ends a turn no worker will finish: a stop keeps what the user saw as a
 * stopped reply; an orphan reports `error` (and keeps any text seen, marked stopped).
 */
export function abandonedEnding(
  entries: ReplyEntry[],
  turn: string,
  conversation: string,
  mode: "stop" | "orphan",
  error: TurnError,
  ts = new Date().toISOString(),
) {
  const content = seenText(entries, turn);
  const mid = replyMessageId(turn);
  const entry: ReplyEntry = mode === "stop"
    ? { type: "done", id: turn, conv: conversation, mid, content, ts, stopped: "1" }
    : { type: "error", id: turn, conv: conversation, ...error };
  const message = content
    ? messageJson({ id: mid, role: "assistant", content, timestamp: ts, stopped: true })
    : "";
  return { mid, ts, message, failure: errorJson(error), entry };
}

/** FINISH_TURN's message arguments: id, JSON ('' for none), timestamp, failure JSON. */
type FinishMessage = [id: string, json: string, ts: string, failure: string];

/** A worker's reply: committed unless it was stopped before any text (then no message). */
export function doneEnding(
  turn: string,
  conversation: string,
  content: string,
  stopped: boolean,
  ts = new Date().toISOString(),
): { message: FinishMessage; entry: ReplyEntry } {
  const mid = replyMessageId(turn);
  const json = content
    ? messageJson({ id: mid, role: "assistant", content, timestamp: ts, stopped })
    : "";
  return {
    message: [mid, json, ts, ""],
    entry: {
      type: "done",
      id: turn,
      conv: conversation,
      mid,
      content,
      ts,
      stopped: stopped ? "1" : "0",
    },
  };
}

/** A failed turn: its user message carries the error until it is retried. */
export function failedEnding(
  turn: string,
  conversation: string,
  error: TurnError,
): { message: FinishMessage; entry: ReplyEntry } {
  return {
    message: ["", "", "", errorJson(error)],
    entry: { type: "error", id: turn, conv: conversation, ...error },
  };
}

// A turn as the requests stream holds it, read from a raw XREADGROUP entry, and the delta
// entries a worker writes for it.
import { DEFAULT_CONVERSATION } from "../contract/conversations.ts";
import type { ReplyEntry } from "./reply_entry.ts";
import { fields, type RawEntry } from "./stream_entries.ts";

export interface QueuedTurn {
  entryId: string;
  token: string;
  turn: string;
  /** The x-request-id of the request that queued the turn ("" when none was recorded). */
  requestId: string;
  conversation: string;
  /** The id of the user message the turn answers (a regenerate answers an older one). */
  ask: string;
  /** The session's name when the turn was queued, for the system prompt (null: not told). */
  userName: string | null;
}

export const deltaEntry = (turn: QueuedTurn, text: string, offset: number): ReplyEntry => ({
  type: "delta",
  id: turn.turn,
  conv: turn.conversation,
  text,
  offset: String(offset),
});

export function toTurn([entryId, raw]: RawEntry): QueuedTurn {
  const f = fields(raw);
  return {
    entryId,
    token: f.token ?? "",
    turn: f.turn ?? "",
    requestId: f.rid ?? "",
    conversation: f.conv || DEFAULT_CONVERSATION,
    ask: f.ask || (f.turn ?? ""),
    userName: f.name || null,
  };
}

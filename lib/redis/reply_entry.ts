// The reply-stream entry: one type for whoever writes it (the worker, and the web server's turn and
// conversation scripts, which XADD exactly these field/value pairs) and the web servers that read
// it back as frames. Every entry names its conversation (`conv`; "" in entries from before
// conversations existed, which then read as the frame without one).
import type { Conversation, Message, ReplyEvent } from "../contract/frames.ts";

export type ReplyEntry =
  | { type: "delta"; id: string; conv: string; text: string; offset: string }
  | {
    type: "done";
    id: string;
    conv: string;
    /** The assistant message's id in history. */
    mid: string;
    content: string;
    ts: string;
    stopped: "0" | "1";
  }
  | { type: "error"; id: string; conv: string; code: string; message: string }
  | {
    type: "user";
    id: string;
    conv: string;
    /** The user message's JSON, as stored. */
    message: string;
    edited?: string;
    retried?: string;
    regen?: "1";
  }
  | {
    type: "conversation";
    id: string;
    conv: string;
    title: string;
    created: string;
    updated: string;
    count: string;
  }
  | { type: "conversation_deleted"; id: string; conv: string };

/** The entry as XADD field/value pairs. */
export function entryArgs(entry: ReplyEntry): string[] {
  return Object.entries(entry).filter(([, v]) => v !== undefined).flat() as string[];
}

/** A stream entry's fields as a ReplyEntry; null for anything our scripts never write. */
export function readReplyEntry(f: Record<string, string>): ReplyEntry | null {
  if (typeof f.id !== "string") return null;
  const conv = f.conv ?? "";
  switch (f.type) {
    case "delta":
      return { type: "delta", id: f.id, conv, text: f.text ?? "", offset: f.offset ?? "0" };
    case "done":
      return {
        type: "done",
        id: f.id,
        conv,
        mid: f.mid ?? "",
        content: f.content ?? "",
        ts: f.ts ?? "",
        stopped: f.stopped === "1" ? "1" : "0",
      };
    case "error":
      return { type: "error", id: f.id, conv, code: f.code ?? "", message: f.message ?? "" };
    case "user":
      return {
        type: "user",
        id: f.id,
        conv,
        message: f.message ?? "",
        ...(f.edited ? { edited: f.edited } : {}),
        ...(f.retried ? { retried: f.retried } : {}),
        ...(f.regen === "1" ? { regen: "1" as const } : {}),
      };
    case "conversation":
      return {
        type: "conversation",
        id: f.id,
        conv,
        title: f.title ?? "",
        created: f.created ?? "",
        updated: f.updated ?? "",
        count: f.count ?? "0",
      };
    case "conversation_deleted":
      return { type: "conversation_deleted", id: f.id, conv };
    default:
      return null;
  }
}

/** The conversation an entry describes (for `conversation` entries). */
export function entryConversation(entry: Extract<ReplyEntry, { type: "conversation" }>) {
  const c: Conversation = {
    id: entry.id,
    title: entry.title,
    created_at: entry.created,
    updated_at: entry.updated,
    message_count: Math.max(0, Number(entry.count) || 0),
  };
  return c;
}

function userMessage(json: string, id: string): Message {
  try {
    const m = JSON.parse(json);
    return {
      id: String(m.id ?? id),
      role: "user",
      content: String(m.content ?? ""),
      timestamp: String(m.timestamp ?? ""),
    };
  } catch {
    return { id, role: "user", content: "", timestamp: "" };
  }
}

/** The frame a client gets for an entry (without its event id). */
export function toReplyEvent(entry: ReplyEntry): ReplyEvent {
  const conversation = entry.conv ? { conversation: entry.conv } : {};
  switch (entry.type) {
    case "delta":
      return {
        type: "delta",
        id: entry.id,
        text: entry.text,
        offset: Number(entry.offset) || 0,
        ...conversation,
      };
    case "done":
      return {
        type: "done",
        id: entry.id,
        message: {
          id: entry.mid,
          role: "assistant",
          content: entry.content,
          timestamp: entry.ts,
          ...(entry.stopped === "1" ? { stopped: true } : {}),
        },
        ...(entry.stopped === "1" ? { stopped: true } : {}),
        ...conversation,
      };
    case "error":
      return {
        type: "error",
        id: entry.id,
        code: entry.code,
        message: entry.message,
        ...conversation,
      };
    case "user":
      return {
        type: "user",
        id: entry.id,
        message: userMessage(entry.message, entry.id),
        ...conversation,
        ...(entry.edited ? { edited: entry.edited } : {}),
        ...(entry.retried ? { retried: entry.retried } : {}),
        ...(entry.regen ? { regenerate: true } : {}),
      };
    case "conversation":
      return { type: "conversation", id: entry.id, conversation: entryConversation(entry) };
    case "conversation_deleted":
      return { type: "conversation_deleted", id: entry.id };
  }
}

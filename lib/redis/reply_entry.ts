// The reply-stream entry: one type for the worker that writes it (through the Lua scripts, which
// XADD exactly these field/value pairs) and the web servers that read it back as frames.
import type { ReplyEvent } from "../contract/frames.ts";

export type ReplyEntry =
  | { type: "delta"; id: string; text: string; offset: string }
  | {
    type: "done";
    id: string;
    /** The assistant message's id in history. */
    mid: string;
    content: string;
    ts: string;
    stopped: "0" | "1";
  }
  | { type: "error"; id: string; code: string; message: string };

/** The entry as XADD field/value pairs. */
export function entryArgs(entry: ReplyEntry): string[] {
  return Object.entries(entry).flat();
}

/** A stream entry's fields as a ReplyEntry; null for anything our scripts never write. */
export function readReplyEntry(f: Record<string, string>): ReplyEntry | null {
  if (typeof f.id !== "string") return null;
  switch (f.type) {
    case "delta":
      return { type: "delta", id: f.id, text: f.text ?? "", offset: f.offset ?? "0" };
    case "done":
      return {
        type: "done",
        id: f.id,
        mid: f.mid ?? "",
        content: f.content ?? "",
        ts: f.ts ?? "",
        stopped: f.stopped === "1" ? "1" : "0",
      };
    case "error":
      return { type: "error", id: f.id, code: f.code ?? "", message: f.message ?? "" };
    default:
      return null;
  }
}

/** The frame a client gets for an entry (without its event id). */
export function toReplyEvent(entry: ReplyEntry): ReplyEvent {
  switch (entry.type) {
    case "delta":
      return { type: "delta", id: entry.id, text: entry.text, offset: Number(entry.offset) || 0 };
    case "done":
      return {
        type: "done",
        id: entry.id,
        message: { id: entry.mid, role: "assistant", content: entry.content, timestamp: entry.ts },
        ...(entry.stopped === "1" ? { stopped: true } : {}),
      };
    case "error":
      return { type: "error", id: entry.id, code: entry.code, message: entry.message };
  }
}

// Reply-stream entries (written by the worker's Lua scripts) as the frames clients receive.
import type { ReplyEvent } from "../contract/frames.ts";

/** A reply-stream entry as the frame the client gets (without its event id). */
export function toReplyEvent(f: Record<string, string>): ReplyEvent | null {
  switch (f.type) {
    case "delta":
      return { type: "delta", id: f.id, text: f.text ?? "", offset: Number(f.offset) || 0 };
    case "done":
      return {
        type: "done",
        id: f.id,
        message: { id: f.mid, role: "assistant", content: f.content ?? "", timestamp: f.ts },
        ...(f.stopped === "1" ? { stopped: true } : {}),
      };
    case "error":
      return {
        type: "error",
        id: f.id,
        code: f.code ?? "model_error",
        message: f.message ?? "The model failed.",
      };
    default:
      return null;
  }
}

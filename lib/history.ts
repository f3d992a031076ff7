// A session's history: one stream entry per message, in the order the user saw them.
import type { Message, ReplyEvent } from "./frames.ts";
import { sessionKeys } from "./keys.ts";
import type { Redis } from "./redis.ts";
import { fields, type RawEntry } from "./streams.ts";

export function toMessage(f: Record<string, string>): Message {
  return {
    id: f.id,
    role: f.role === "assistant" ? "assistant" : "user",
    content: f.content ?? "",
    timestamp: f.ts,
  };
}

export async function readHistory(redis: Redis, token: string): Promise<Message[]> {
  const raw = await redis.xrange(sessionKeys(token).history, "-", "+") as unknown as RawEntry[];
  return raw.map(([, f]) => toMessage(fields(f)));
}

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
        code: f.code as "model_error",
        message: f.message ?? "The model failed.",
      };
    default:
      return null;
  }
}

// A session's history: one stream entry per message, in the order the user saw them.
import type { Message } from "../contract/frames.ts";
import { sessionKeys } from "./keys.ts";
import type { Redis } from "./client.ts";
import { fields, type RawEntry } from "./stream_entries.ts";

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

// A conversation's history: its messages, oldest first, in the order the user saw them (one
// ZRANGEBYLEX of the session's history set; see message_members.ts).
import type { Message } from "../contract/frames.ts";
import { DEFAULT_CONVERSATION } from "../contract/conversations.ts";
import { sessionKeys } from "./keys.ts";
import type { Redis } from "./client.ts";
import { conversationRange, readMember } from "./message_members.ts";

export async function readHistory(
  redis: Redis,
  token: string,
  conversation = DEFAULT_CONVERSATION,
): Promise<Message[]> {
  const [min, max] = conversationRange(conversation);
  const raw = await redis.zrange(sessionKeys(token).history, min, max, { byLex: true }) as string[];
  return raw.map(readMember).filter((m): m is Message => m !== null);
}

/** What a worker needs to answer a turn, in one request: the conversation and the user's name. */
export async function readTurnContext(
  redis: Redis,
  token: string,
  conversation = DEFAULT_CONVERSATION,
): Promise<{ messages: Message[]; userName: string | null }> {
  const [min, max] = conversationRange(conversation);
  const keys = sessionKeys(token);
  const p = redis.pipeline();
  p.zrange(keys.history, min, max, { byLex: true });
  p.hget(keys.session, "name");
  const [raw, name] = await p.exec() as [string[], string | null];
  return {
    messages: raw.map(readMember).filter((m): m is Message => m !== null),
    userName: name ?? null,
  };
}

// A conversation's history: its messages, oldest first, in the order the user saw them (one
// ZRANGEBYLEX of the session's history set; see message_members.ts).
import type { Message } from "../contract/frames.ts";
import { DEFAULT_CONVERSATION } from "../contract/conversations.ts";
import { sessionKeys } from "./keys.ts";
import type { Redis } from "./client.ts";
import { conversationRange, readMembers } from "./message_members.ts";

export async function readHistory(
  redis: Redis,
  token: string,
  conversation = DEFAULT_CONVERSATION,
): Promise<Message[]> {
  return readMembers(await readHistoryMembers(redis, token, conversation));
}

/** The same as stored (message_members.ts): what a worker keeps needs each message's seq. */
export async function readHistoryMembers(
  redis: Redis,
  token: string,
  conversation: string,
): Promise<string[]> {
  const [min, max] = conversationRange(conversation);
  return await redis.zrange(sessionKeys(token).history, min, max, { byLex: true }) as string[];
}

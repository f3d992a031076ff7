// What part of the conversation a model sees, and how the seed's GPT-J prompt is laid out.
import type { Message } from "../contract/frames.ts";

/**
 * The most recent messages whose contents fit in `maxChars`, oldest first. The last message is
 * always kept; if it alone is too long its start is cut, because the end is what the user just
 * asked. An older message that does not fit ends the window: skipping it and keeping older ones
 * would leave the model a conversation with a hole in it.
 */
export function recentWithinBudget(messages: Message[], maxChars: number): Message[] {
  if (messages.length === 0) return [];
  const budget = Math.max(0, Math.floor(maxChars));
  const last = messages[messages.length - 1];
  if (last.content.length > budget) {
    return [{ ...last, content: last.content.slice(last.content.length - budget) }];
  }
  let used = last.content.length;
  let first = messages.length - 1;
  while (first > 0 && used + messages[first - 1].content.length <= budget) {
    first--;
    used += messages[first].content.length;
  }
  return messages.slice(first);
}

/**
 * The configured system prompt, plus the user's name: the welcome screen promises the assistant
 * will call them by it. The name is the user's own input, so it goes in on one line, quoted.
 */
export function systemPromptFor(base: string, userName?: string): string {
  const name = userName?.replace(/\s+/g, " ").trim();
  if (!name) return base;
  return `${base.trim()}\n\nThe user's name is ${JSON.stringify(name)}.`.trim();
}

/**
 * The seed's conversational prompt: an optional preamble, then one `Human:` or `Bot:` line per
 * message, ending with `Bot:` so a plain completion model writes the next reply.
 */
export function humanBotPrompt(messages: Message[], systemPrompt?: string): string {
  const lines: string[] = [];
  const preamble = systemPrompt?.trim();
  if (preamble) lines.push(preamble, "");
  for (const message of messages) {
    lines.push(`${message.role === "user" ? "Human" : "Bot"}: ${message.content.trim()}`);
  }
  lines.push("Bot:");
  return lines.join("\n");
}

// Conversation rules both sides share: the default conversation's id, what an id may look like,
// how a title comes from the first message, and the Markdown export (the server's download and
// the page's own copy after expiry read the same).
import type { Message } from "./frames.ts";

/** The conversation the seed's endpoints and frames without `conversation` use. */
export const DEFAULT_CONVERSATION = "default";
/** Server-made ids are URL-safe; anything else can never name one of a session's conversations. */
export const CONVERSATION_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_TITLE_CHARS = 120;
/** A title taken from the first message is cut to this many characters. */
export const AUTO_TITLE_CHARS = 60;

export const isConversationId = (id: string): boolean => CONVERSATION_ID.test(id);

/** The first line of a message, trimmed to AUTO_TITLE_CHARS characters (never half a character). */
export function titleFromMessage(content: string): string {
  const line = content.trim().split(/\r?\n/, 1)[0]?.trim() ?? "";
  return Array.from(line).slice(0, AUTO_TITLE_CHARS).join("").trim();
}

/** What a conversation without a title is called where a name must show. */
export const UNTITLED = "New chat";

/** A conversation as Markdown: a heading, then each message under who said it and when. */
export function conversationMarkdown(title: string, messages: readonly Message[]): string {
  const parts = [`# ${title.trim() || UNTITLED}`];
  for (const m of messages) {
    const who = m.role === "user" ? "You" : "Assistant";
    const notes = [m.stopped ? "stopped" : "", m.error ? `failed: ${m.error.message}` : ""]
      .filter(Boolean).join(", ");
    parts.push(`## ${who} · ${m.timestamp}${notes ? ` (${notes})` : ""}`, m.content.trim());
  }
  return parts.join("\n\n") + "\n";
}

/** A file name for a download of the conversation: its title, made safe, or "chat". */
export function exportFileName(title: string, extension: "md" | "json"): string {
  const slug = title.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 60);
  return `${slug || "chat"}.${extension}`;
}

// How a message is stored: one member of the session's history sorted set (all scores 0), so
// members sort by their text. `<conversation>:<seq, 10 digits>:<u|a>:<id> <message JSON>`, and for
// a user message whose turn failed, a newline and the error's JSON. JSON never holds a raw newline,
// so the error can be added and removed by the Lua scripts without parsing the message.
import type { Message, TurnError } from "../contract/frames.ts";

/**
 * The [min, max) ZRANGEBYLEX bounds of one conversation (":" and ";" never occur in its id); the
 * scripts' `bounds(c)` (session_lua.ts) is the same.
 */
export const conversationRange = (
  conversation: string,
): [`[${string}`, `(${string}`] => [
  `[${conversation}:`,
  `(${conversation};`,
];

/** A message as the JSON the scripts store: fixed keys, `stopped` only when true. */
export function messageJson(m: Omit<Message, "error">): string {
  return JSON.stringify({
    id: m.id,
    role: m.role,
    content: m.content,
    timestamp: m.timestamp,
    ...(m.stopped ? { stopped: true } : {}),
  });
}

export const errorJson = (e: TurnError): string =>
  JSON.stringify({ code: e.code, message: e.message });

/** The member for a message at `seq` (tests seed conversations with it; scripts build the same). */
export function messageMember(conversation: string, seq: number, m: Message): string {
  const role = m.role === "user" ? "u" : "a";
  const base = `${conversation}:${String(seq).padStart(10, "0")}:${role}:${m.id} ${messageJson(m)}`;
  return m.error ? `${base}\n${errorJson(m.error)}` : base;
}

/** The seq of a stored member (its place in the conversation), or NaN when malformed. */
export function memberSeq(member: string): number {
  const from = member.indexOf(":") + 1;
  return from > 0 ? Number(member.slice(from, member.indexOf(":", from))) : NaN;
}

/** Stored members back as Messages, in order, skipping malformed ones. */
export const readMembers = (members: string[]): Message[] =>
  members.map(readMember).filter((m): m is Message => m !== null);

/** A stored member back as a Message; null for anything malformed. */
export function readMember(member: string): Message | null {
  const space = member.indexOf(" ");
  if (space < 0) return null;
  const [json, error] = member.slice(space + 1).split("\n", 2);
  try {
    const m = JSON.parse(json) as Message;
    if (typeof m?.id !== "string" || typeof m.content !== "string") return null;
    const out: Message = {
      id: m.id,
      role: m.role === "assistant" ? "assistant" : "user",
      content: m.content,
      timestamp: String(m.timestamp ?? ""),
    };
    if (m.stopped === true) out.stopped = true;
    if (error) {
      const e = JSON.parse(error) as TurnError;
      out.error = { code: String(e.code ?? ""), message: String(e.message ?? "") };
    }
    return out;
  } catch {
    return null;
  }
}

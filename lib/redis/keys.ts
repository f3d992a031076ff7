// Every Redis key name in one place. All of a session's keys share its sliding TTL, and
// sessionKeyList() is the one list of them that scripts, refreshes and expiry use.

/** Turns queued by web servers, read by the worker consumer group. */
export const REQUESTS_STREAM = "chat:requests";
export const WORKER_GROUP = "workers";
/** One hash field per live worker: what model it serves. Entries carry their own expiry time. */
export const WORKERS_HASH = "chat:workers";

export const sessionKeys = (token: string) => ({
  /** hash: name, session_start */
  session: `chat:s:${token}`,
  /**
   * sorted set, all scores 0: every conversation's messages, one member each, ordered by
   * `<conversation>:<seq>` (see message_members.ts), so one conversation is one ZRANGEBYLEX
   */
  history: `chat:m:${token}`,
  /** hash: turn id -> state ("queued" | "done" | "failed"), "<id>:stop" -> "1" */
  turns: `chat:t:${token}`,
  /** stream: reply events (delta, done, error, user, conversation…); ids are resume's `event` ids */
  replies: `chat:r:${token}`,
  /** hash: `<conversation>:<field>` -> created, updated, title, renamed, count, seq, running */
  conversations: `chat:c:${token}`,
});
export type SessionKeys = ReturnType<typeof sessionKeys>;

/** A session's keys in the order the Lua scripts expect them. */
export function sessionKeyList(token: string): string[] {
  const k = sessionKeys(token);
  return [k.session, k.history, k.turns, k.replies, k.conversations];
}

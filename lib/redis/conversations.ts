// A session's conversations: reading them (the index hash and one ZRANGEBYLEX per conversation)
// and changing them through the Lua scripts of conversation_scripts.ts.
import type { Conversation, Message } from "../contract/frames.ts";
import type { Redis } from "./client.ts";
import {
  CREATE_CONVERSATION,
  DELETE_CONVERSATION,
  RENAME_CONVERSATION,
  TOUCH_SESSION,
} from "./conversation_scripts.ts";
import { conversationRange, readMembers } from "./message_members.ts";
import { sessionKeyList, sessionKeys } from "./keys.ts";
import { ScriptRunner } from "./script_runner.ts";

export type CreateOutcome = (typeof CREATE_CONVERSATION.outcomes)[number];
export type RenameOutcome = (typeof RENAME_CONVERSATION.outcomes)[number];
export type DeleteOutcome = (typeof DELETE_CONVERSATION.outcomes)[number];
export type TouchOutcome = (typeof TOUCH_SESSION.outcomes)[number];

/** 72 random bits, URL-safe: unguessable enough, and never one of another session's anyway. */
export function newConversationId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

/** The index hash's fields (`<id>:<field>`) as conversations, most recently updated first. */
export function readIndex(raw: Record<string, string>): Conversation[] {
  const byId = new Map<string, Record<string, string>>();
  for (const [field, value] of Object.entries(raw)) {
    const at = field.lastIndexOf(":");
    if (at <= 0) continue;
    const id = field.slice(0, at);
    const entry = byId.get(id) ?? {};
    entry[field.slice(at + 1)] = value;
    byId.set(id, entry);
  }
  const out: Conversation[] = [];
  for (const [id, f] of byId) {
    if (!f.created) continue;
    out.push({
      id,
      title: f.title ?? "",
      created_at: f.created,
      updated_at: f.updated ?? f.created,
      message_count: Math.max(0, Number(f.count) || 0),
    });
  }
  return out.sort((a, b) =>
    b.updated_at.localeCompare(a.updated_at) || b.created_at.localeCompare(a.created_at)
  );
}

export class ConversationStore {
  readonly #scripts: ScriptRunner;

  constructor(
    readonly redis: Redis,
    readonly ttl: number,
    readonly maxConversations: number,
  ) {
    this.#scripts = new ScriptRunner(redis);
  }

  async list(token: string): Promise<Conversation[]> {
    const raw = await this.redis.hgetall(sessionKeys(token).conversations) as unknown;
    return readIndex(pairsToRecord(raw));
  }

  async get(token: string, id: string): Promise<Conversation | null> {
    const fields = FIELDS.map((f) => `${id}:${f}`);
    return toConversation(id, await this.redis.hmget(sessionKeys(token).conversations, ...fields));
  }

  /**
   * One request for a conversation page: whether the session is alive (sliding its TTL), the
   * conversation and its messages. `null` conversation: not one of this session's.
   */
  async readTouching(token: string, id: string): Promise<
    { alive: false } | { alive: true; conversation: Conversation | null; messages: Message[] }
  > {
    const keys = sessionKeys(token);
    const p = this.redis.pipeline();
    p.hmget(keys.session, "name");
    for (const key of sessionKeyList(token)) p.expire(key, this.ttl);
    p.hmget(keys.conversations, ...FIELDS.map((f) => `${id}:${f}`));
    const [min, max] = conversationRange(id);
    p.zrange(keys.history, min, max, { byLex: true });
    const out = await p.exec() as unknown[];
    if (!(out[0] as (string | null)[] | null)?.[0]) return { alive: false };
    const conversation = toConversation(id, out.at(-2));
    const members = (conversation ? out.at(-1) : []) as string[];
    return {
      alive: true,
      conversation,
      messages: readMembers(members),
    };
  }

  /** A new conversation (with `title`, as if renamed, when one is given). */
  async create(
    token: string,
    id: string,
    title: string,
  ): Promise<{ outcome: CreateOutcome; conversation: Conversation }> {
    const now = new Date().toISOString();
    const outcome = await this.#scripts.run(CREATE_CONVERSATION, sessionKeyList(token), [
      id,
      title,
      now,
      String(this.ttl),
      String(this.maxConversations),
    ]);
    return {
      outcome,
      conversation: { id, title, created_at: now, updated_at: now, message_count: 0 },
    };
  }

  rename(token: string, id: string, title: string): Promise<RenameOutcome> {
    return this.#scripts.run(RENAME_CONVERSATION, sessionKeyList(token), [
      id,
      title,
      new Date().toISOString(),
      String(this.ttl),
    ]);
  }

  delete(token: string, id: string): Promise<DeleteOutcome> {
    return this.#scripts.run(DELETE_CONVERSATION, sessionKeyList(token), [id, String(this.ttl)]);
  }

  /** Slides the session's TTL in one command (an open socket's keep-alive). */
  touch(token: string): Promise<TouchOutcome> {
    return this.#scripts.run(TOUCH_SESSION, sessionKeyList(token), [String(this.ttl)]);
  }
}

const FIELDS = ["created", "updated", "title", "count"] as const;

/** HMGET's raw answer for FIELDS as a conversation; null when it does not exist. */
function toConversation(id: string, raw: unknown): Conversation | null {
  const values = Array.isArray(raw)
    ? raw
    : FIELDS.map((f) => (raw as Record<string, string> | null)?.[`${id}:${f}`]);
  const [created, updated, title, count] = values as (string | null)[];
  if (!created) return null;
  return {
    id,
    title: title ?? "",
    created_at: created,
    updated_at: updated ?? created,
    message_count: Math.max(0, Number(count) || 0),
  };
}

/** HGETALL answers a flat [field, value, ...] list with raw replies; a record otherwise. */
function pairsToRecord(raw: unknown): Record<string, string> {
  if (!Array.isArray(raw)) return (raw ?? {}) as Record<string, string>;
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = String(raw[i + 1]);
  return out;
}

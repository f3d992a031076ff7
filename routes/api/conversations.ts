// /api/conversations: a session's conversations (list, create, read, rename, delete, export).
// Ids that are not this session's, whoever's they are, are 404 conversation_not_found.
import type { Context } from "hono";
import {
  conversationMarkdown,
  exportFileName,
  isConversationId,
} from "../../lib/contract/conversations.ts";
import {
  type ConversationDetail,
  type ConversationList,
  CreateConversation,
  RenameConversation,
} from "../../lib/contract/payloads.ts";
import { newConversationId } from "../../lib/redis/conversations.ts";
import type { AppEnv } from "../../lib/server/services.ts";
import { isWellFormedToken, type Session, touchSession } from "../../lib/server/session.ts";
import { apiError, sessionExpired } from "../_errors.ts";
import { requestToken } from "./_token.ts";

type Ctx = Context<AppEnv>;

const notFound = (c: Ctx) =>
  apiError(c, 404, "conversation_not_found", "That conversation does not exist.");

/** Every request is activity: it slides the session's TTL. */
function session(c: Ctx): Promise<Session | null> {
  const { redis, config } = c.var.deps;
  return touchSession(redis, requestToken(c) ?? "", config.SESSION_TTL_SECONDS);
}

async function jsonBody(c: Ctx): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The session's conversation with its messages, in one request that also slides the TTL. */
async function detail(c: Ctx): Promise<Response | ConversationDetail> {
  const token = requestToken(c) ?? "";
  if (!isWellFormedToken(token)) return sessionExpired(c);
  const id = c.req.param("id") ?? "";
  if (!isConversationId(id)) {
    return await session(c) ? notFound(c) : sessionExpired(c);
  }
  const read = await c.var.deps.conversations.readTouching(token, id);
  if (!read.alive) return sessionExpired(c);
  return read.conversation ? { ...read.conversation, messages: read.messages } : notFound(c);
}

export async function list(c: Ctx) {
  const s = await session(c);
  if (!s) return sessionExpired(c);
  const body: ConversationList = { conversations: await c.var.deps.conversations.list(s.token) };
  return c.json(body);
}

export async function create(c: Ctx) {
  const s = await session(c);
  if (!s) return sessionExpired(c);
  const parsed = CreateConversation.safeParse(await jsonBody(c));
  if (!parsed.success) {
    return apiError(c, 400, "invalid_title", parsed.error.issues[0]?.message ?? "Invalid title.");
  }
  const { outcome, conversation } = await c.var.deps.conversations.create(
    s.token,
    newConversationId(),
    parsed.data.title ?? "",
  );
  if (outcome === "session_gone") return sessionExpired(c);
  if (outcome === "too_many_conversations") {
    const max = c.var.deps.config.MAX_CONVERSATIONS;
    return apiError(
      c,
      409,
      "too_many_conversations",
      `A session can hold ${max} conversations. Delete one to start another.`,
    );
  }
  if (outcome !== "created") throw new Error(`creating a conversation: ${outcome}`);
  return c.json(conversation, 201);
}

export async function get(c: Ctx) {
  const body = await detail(c);
  return body instanceof Response ? body : c.json(body);
}

export async function rename(c: Ctx) {
  const s = await session(c);
  if (!s) return sessionExpired(c);
  const id = c.req.param("id") ?? "";
  if (!isConversationId(id)) return notFound(c);
  const parsed = RenameConversation.safeParse(await jsonBody(c));
  if (!parsed.success) {
    return apiError(c, 400, "invalid_title", parsed.error.issues[0]?.message ?? "Invalid title.");
  }
  const { conversations } = c.var.deps;
  const outcome = await conversations.rename(s.token, id, parsed.data.title);
  if (outcome === "session_gone") return sessionExpired(c);
  if (outcome === "conversation_not_found") return notFound(c);
  const conversation = await conversations.get(s.token, id);
  return conversation ? c.json(conversation) : notFound(c);
}

export async function remove(c: Ctx) {
  const s = await session(c);
  if (!s) return sessionExpired(c);
  const id = c.req.param("id") ?? "";
  if (!isConversationId(id)) return notFound(c);
  const outcome = await c.var.deps.conversations.delete(s.token, id);
  if (outcome === "session_gone") return sessionExpired(c);
  if (outcome === "conversation_not_found") return notFound(c);
  c.var.log.info("conversation deleted", { conversation: id });
  return c.body(null, 204);
}

/** `?format=md` (the default) or `json`, as a download named after the title. */
export async function exportConversation(c: Ctx) {
  const format = c.req.query("format") ?? "md";
  if (format !== "md" && format !== "json") {
    return await session(c)
      ? apiError(c, 400, "invalid_format", "Export as format=md or format=json.")
      : sessionExpired(c);
  }
  const body = await detail(c);
  if (body instanceof Response) return body;
  c.header("Content-Disposition", `attachment; filename="${exportFileName(body.title, format)}"`);
  if (format === "json") return c.json(body);
  c.header("Content-Type", "text/markdown; charset=utf-8");
  return c.body(conversationMarkdown(body.title, body.messages));
}

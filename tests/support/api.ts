// HTTP helpers for the conversation routes: a request with a session's token, its status and body
// (checked against the contract's schemas where the tests rely on the shape).
import { Conversation } from "../../lib/contract/frames.ts";
import { ConversationDetail, ConversationList } from "../../lib/contract/payloads.ts";

export interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
  text: string;
}

export async function call(
  base: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch { /* Markdown exports are not JSON */ }
  return { status: res.status, body: json, headers: res.headers, text };
}

/** The error code of a JSON error answer. */
export const errorCode = (a: Answer): string | undefined =>
  (a.body as { error?: { code?: string } } | null)?.error?.code;

export async function listConversations(base: string, token: string) {
  const a = await call(base, token, "GET", "/api/conversations");
  if (a.status !== 200) throw new Error(`list: ${a.status} ${a.text}`);
  return ConversationList.parse(a.body).conversations;
}

export async function createConversation(base: string, token: string, title?: string) {
  const a = await call(base, token, "POST", "/api/conversations", title ? { title } : {});
  if (a.status !== 201) throw new Error(`create: ${a.status} ${a.text}`);
  return Conversation.parse(a.body);
}

export async function getConversation(base: string, token: string, id: string) {
  const a = await call(base, token, "GET", `/api/conversations/${id}`);
  if (a.status !== 200) throw new Error(`get: ${a.status} ${a.text}`);
  return ConversationDetail.parse(a.body);
}

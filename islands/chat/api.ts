// The HTTP half of the contract, as the browser uses it. Every failure becomes an ApiFailure with a
// message fit to show a person: the server's own message when it sent one, ours otherwise.
import * as z from "zod/mini";
import { Conversation } from "../../lib/contract/frames.ts";
import {
  ConversationDetail,
  ConversationList,
  Health,
  History,
  SessionInfo,
} from "../../lib/contract/payloads.ts";

export class ApiFailure extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}

const OFFLINE = "Can't reach the server. Check your connection and try again.";

async function call<T>(
  schema: z.ZodMiniType<T>,
  path: string,
  init: RequestInit = {},
  okStatuses: number[] = [],
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { accept: "application/json", ...init.headers } });
  } catch {
    throw new ApiFailure("network", OFFLINE, 0);
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch { /* not JSON: handled below */ }
  if (res.ok || okStatuses.includes(res.status)) {
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new ApiFailure("bad_response", "The server sent an unreadable answer.", res.status);
    }
    return parsed.data;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  throw new ApiFailure(
    typeof error?.code === "string" ? error.code : `http_${res.status}`,
    typeof error?.message === "string" && error.message
      ? error.message
      : `The server couldn't handle that (HTTP ${res.status}). Please try again.`,
    res.status,
  );
}

export function requestToken(name: string): Promise<SessionInfo> {
  return call(SessionInfo, "/api/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
}

export function fetchHistory(token: string): Promise<History> {
  return call(History, "/api/history", { headers: { authorization: `Bearer ${token}` } });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export async function fetchConversations(token: string): Promise<Conversation[]> {
  return (await call(ConversationList, "/api/conversations", { headers: bearer(token) }))
    .conversations;
}

export function fetchConversation(token: string, id: string): Promise<ConversationDetail> {
  return call(ConversationDetail, `/api/conversations/${encodeURIComponent(id)}`, {
    headers: bearer(token),
  });
}

function withBody(token: string, method: string, body: unknown): RequestInit {
  return {
    method,
    headers: { ...bearer(token), "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}

export function createConversation(token: string): Promise<Conversation> {
  return call(Conversation, "/api/conversations", withBody(token, "POST", {}));
}

export function renameConversation(token: string, id: string, title: string) {
  return call(
    Conversation,
    `/api/conversations/${encodeURIComponent(id)}`,
    withBody(token, "PATCH", { title }),
  );
}

export async function deleteConversation(token: string, id: string): Promise<void> {
  await call(z.null(), `/api/conversations/${encodeURIComponent(id)}`, {
    method: "DELETE",
    headers: bearer(token),
  });
}
/** A degraded service answers 503 with the same shape, which is what the banner needs. */
export function fetchHealth(): Promise<Health> {
  return call(Health, "/api/health", {}, [503]);
}

export const isNotFound = (e: unknown): boolean =>
  e instanceof ApiFailure && e.code === "conversation_not_found";

export const isExpired = (e: unknown): boolean =>
  e instanceof ApiFailure && (e.status === 401 || e.code === "session_expired");

export const chatSocketUrl = (token: string): string =>
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/chat?token=${
    encodeURIComponent(token)
  }`;

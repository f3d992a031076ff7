// Sessions: an unguessable token naming a handful of Redis keys that share one sliding TTL.
import { encodeBase64Url } from "./base64url.ts";
import { sessionKeyList, sessionKeys } from "../redis/keys.ts";
import type { SessionInfo } from "../contract/payloads.ts";
import type { Redis } from "../redis/client.ts";

export interface Session {
  token: string;
  name: string;
  session_start: string;
  expires_at: string;
}

/** 256 random bits, URL-safe. */
export function newToken(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Tokens are only ever what newToken makes: anything else is unknown without asking Redis. */
export function isWellFormedToken(token: string | undefined | null): token is string {
  return typeof token === "string" && /^[A-Za-z0-9_-]{43}$/.test(token);
}

const expiresAt = (ttlSeconds: number) => new Date(Date.now() + ttlSeconds * 1000).toISOString();

export async function createSession(redis: Redis, name: string, ttl: number): Promise<SessionInfo> {
  const token = newToken();
  const session_start = new Date().toISOString();
  const keys = sessionKeys(token);
  const tx = redis.multi();
  tx.hset(keys.session, { name, session_start });
  tx.expire(keys.session, ttl);
  await tx.exec();
  return { token, name, session_start, expires_at: expiresAt(ttl) };
}

/** Looks the session up and slides its TTL; null when unknown or expired. */
export async function touchSession(
  redis: Redis,
  token: string,
  ttl: number,
): Promise<Session | null> {
  return (await touch(redis, token, ttl, false))?.session ?? null;
}

/**
 * touchSession for a chat socket, also answering the id of the session's last reply event ("0-0"
 * when none), where the socket starts relaying: read in the same request.
 */
export async function touchSessionForChat(
  redis: Redis,
  token: string,
  ttl: number,
): Promise<(Session & { lastEvent: string }) | null> {
  const touched = await touch(redis, token, ttl, true);
  return touched && { ...touched.session, lastEvent: touched.lastEvent };
}

async function touch(redis: Redis, token: string, ttl: number, withLastEvent: boolean) {
  if (!isWellFormedToken(token)) return null;
  const p = redis.pipeline();
  p.hmget(sessionKeys(token).session, "name", "session_start");
  if (withLastEvent) p.xrevrange(sessionKeys(token).replies, "+", "-", 1);
  for (const key of sessionKeyList(token)) p.expire(key, ttl);
  // Raw replies (automaticDeserialization is off): HMGET answers [name, session_start], XREVRANGE
  // [[id, fields]] (or nothing).
  const [[name, session_start], last] = await p.exec<
    [[string | null, string | null], unknown, ...unknown[]]
  >();
  if (!name || !session_start) return null;
  const session: Session = { token, name, session_start, expires_at: expiresAt(ttl) };
  const newest = withLastEvent ? (last as [string, string[]][] | null)?.[0]?.[0] : undefined;
  return { session, lastEvent: newest ?? "0-0" };
}

// GET /api/history: the session's messages, oldest first; reading it counts as activity.
import type { Context } from "hono";
import type { AppEnv } from "../../lib/server/services.ts";
import { readHistory } from "../../lib/redis/history.ts";
import type { History } from "../../lib/contract/payloads.ts";
import { touchSession } from "../../lib/server/session.ts";
import { sessionExpired } from "../_errors.ts";
import { requestToken } from "./_token.ts";

export async function handler(c: Context<AppEnv>) {
  const { redis, config } = c.var.deps;
  const session = await touchSession(redis, requestToken(c) ?? "", config.SESSION_TTL_SECONDS);
  if (!session) return sessionExpired(c);
  const body: History = {
    name: session.name,
    session_start: session.session_start,
    expires_at: session.expires_at,
    messages: await readHistory(redis, session.token),
  };
  return c.json(body);
}

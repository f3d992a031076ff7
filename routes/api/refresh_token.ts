// GET /api/refresh_token (the seed's /refresh_token): slides the session's TTL.
import type { Context } from "hono";
import type { AppEnv } from "../../lib/server/services.ts";
import type { SessionInfo } from "../../lib/contract/payloads.ts";
import { touchSession } from "../../lib/server/session.ts";
import { sessionExpired } from "../_errors.ts";
import { requestToken } from "./_token.ts";

export async function handler(c: Context<AppEnv>) {
  const { redis, config } = c.var.deps;
  const session = await touchSession(redis, requestToken(c) ?? "", config.SESSION_TTL_SECONDS);
  if (!session) return sessionExpired(c);
  const body: SessionInfo = session;
  return c.json(body);
}

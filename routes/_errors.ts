// The one JSON error shape of the contract: {"error": {"code", "message"}}.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export function apiError(c: Context, status: ContentfulStatusCode, code: string, message: string) {
  return c.json({ error: { code, message } }, status);
}

export const sessionExpired = (c: Context) =>
  apiError(c, 401, "session_expired", "Your session has expired or is unknown. Start a new one.");

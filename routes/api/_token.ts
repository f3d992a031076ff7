// The session token of a request: `Authorization: Bearer <token>` or `?token=`.
import type { Context } from "hono";

export function requestToken(c: Context): string | undefined {
  const auth = c.req.header("authorization");
  const bearer = auth?.match(/^Bearer\s+(\S+)$/i)?.[1];
  return bearer ?? c.req.query("token") ?? undefined;
}

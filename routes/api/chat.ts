// WS /api/chat?token=: authenticates, then hands the socket to a ChatConnection.
import type { Context } from "hono";
import type { AppEnv } from "../../lib/server/services.ts";
import { sessionKeys } from "../../lib/redis/keys.ts";
import { touchSession } from "../../lib/server/session.ts";
import { apiError } from "../_errors.ts";
import { ChatConnection } from "../../lib/server/chat_connection.ts";

export async function handler(c: Context<AppEnv>) {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return apiError(c, 426, "upgrade_required", "This endpoint speaks WebSocket only.");
  }
  const { redis, config } = c.var.deps;
  const token = c.req.query("token");
  const session = token ? await touchSession(redis, token, config.SESSION_TTL_SECONDS) : null;
  const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
  if (!session) {
    // The close code only reaches the client over an open socket, so upgrade first.
    socket.onopen = () =>
      socket.close(1008, token ? "session_expired: unknown or expired token" : "missing token");
    return response;
  }
  // Replies written before this socket opened were either seen or are fetched with `resume`.
  const last = await redis.xrevrange(
    sessionKeys(session.token).replies,
    "+",
    "-",
    1,
  ) as unknown as [string, string[]][];
  new ChatConnection(socket, session.token, last?.[0]?.[0] ?? "0-0", c.var.deps);
  return response;
}

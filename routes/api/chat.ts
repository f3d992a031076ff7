// WS /api/chat?token=: checks the Origin, authenticates, then hands the socket to a ChatConnection.
import type { Context } from "hono";
import { ChatConnection } from "../../lib/server/chat_connection.ts";
import { SOCKET_IDLE_TIMEOUT_S } from "../../lib/server/limits.ts";
import type { AppEnv } from "../../lib/server/services.ts";
import { touchSessionForChat } from "../../lib/server/session.ts";
import { apiError } from "../_errors.ts";

/**
 * A browser always sends Origin: another site's page must not drive a visitor's chat. Clients that
 * send none (scripts, servers) carry their token themselves and are not affected.
 */
export function originAllowed(c: Context<AppEnv>, allowed: string[]): boolean {
  const origin = c.req.header("origin");
  if (!origin) return true;
  if (allowed.includes(origin)) return true;
  try {
    // Our own origin: same host as the request (the scheme may differ behind a TLS proxy).
    return new URL(origin).host === (c.req.header("host") ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

export async function handler(c: Context<AppEnv>) {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return apiError(c, 426, "upgrade_required", "This endpoint speaks WebSocket only.");
  }
  const { redis, config } = c.var.deps;
  if (!originAllowed(c, config.ALLOWED_ORIGINS)) {
    return apiError(c, 403, "forbidden_origin", "This page may not open a chat here.");
  }
  const token = c.req.query("token");
  // Replies written before this socket opened were either seen or are fetched with `resume`: it
  // starts after the session's last event.
  const session = token
    ? await touchSessionForChat(redis, token, config.SESSION_TTL_SECONDS)
    : null;
  const { socket, response } = Deno.upgradeWebSocket(c.req.raw, {
    idleTimeout: SOCKET_IDLE_TIMEOUT_S,
  });
  if (!session) {
    // The close code only reaches the client over an open socket, so upgrade first.
    socket.onopen = () =>
      socket.close(1008, token ? "session_expired: unknown or expired token" : "missing token");
    return response;
  }
  new ChatConnection(
    socket,
    session.token,
    session.lastEvent,
    c.var.deps,
    c.var.log,
    c.var.requestId,
    session.name,
  );
  return response;
}

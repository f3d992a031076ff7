// POST /api/token: a new session for a name (JSON, form field or ?name=, as the seed sent it).
import type { Context } from "hono";
import type { AppEnv } from "../../lib/server/services.ts";
import { TokenRequest } from "../../lib/contract/payloads.ts";
import { createSession } from "../../lib/server/session.ts";
import { clientAddress } from "../../lib/server/client_address.ts";
import { apiError } from "../_errors.ts";

async function readName(c: Context<AppEnv>): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (type.includes("application/json")) {
    const body = await c.req.json().catch(() => null);
    if (body && typeof body === "object" && "name" in body) return body.name;
  } else if (type.includes("form")) {
    const form = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
    if (typeof form.name === "string") return form.name;
  }
  return c.req.query("name");
}

export async function handler(c: Context<AppEnv>) {
  const parsed = TokenRequest.safeParse({ name: await readName(c) });
  if (!parsed.success) {
    return apiError(c, 400, "invalid_name", parsed.error.issues[0]?.message ?? "Invalid name.");
  }
  const { redis, config, sessionRatelimit } = c.var.deps;
  const limit = await sessionRatelimit.limit(clientAddress(c, config.TRUST_PROXY));
  if (!limit.success) {
    const wait = Math.max(1, Math.ceil((limit.reset - Date.now()) / 1000));
    c.header("Retry-After", String(wait));
    return apiError(c, 429, "rate_limited", `Too many new sessions. Try again in ${wait} s.`);
  }
  const session = await createSession(redis, parsed.data.name, config.SESSION_TTL_SECONDS);
  return c.json(session, 201);
}

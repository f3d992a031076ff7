// Cross-cutting concerns for every route: shared deps, a request id and one log line per request,
// body limits, security headers, JSON errors.
import type { Hono, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { routePath } from "hono/route";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv, Deps } from "../lib/server/services.ts";
import { log } from "../lib/log.ts";
import { MAX_BODY_BYTES } from "../lib/server/limits.ts";
import { apiError } from "./_errors.ts";

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The client's `x-request-id` when it sent a sane one, else ours; echoed and logged. */
export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  const sent = c.req.header("x-request-id");
  const requestId = sent && SANE_REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
  const requestLog = log.child({ request_id: requestId });
  c.set("requestId", requestId);
  c.set("log", requestLog);
  const started = performance.now();
  await next();
  c.header("x-request-id", requestId);
  const seconds = (performance.now() - started) / 1000;
  // The handler's pattern, not the path: a bounded label, and no token from a path or query.
  const pattern = routePath(c, -1);
  const route = pattern === "/*" || pattern === "*" ? "unmatched" : pattern;
  c.get("deps")?.metrics.http(c.req.method, route, c.res.status, seconds);
  requestLog.info("request", {
    method: c.req.method,
    route,
    path: c.req.path,
    status: c.res.status,
    ms: Math.round(seconds * 1000),
  });
};

/** Every route's body is small JSON or a form; a larger one is refused before it is read. */
export const limitBodies = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) =>
    apiError(c, 413, "payload_too_large", `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`),
});

export function withDeps(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("deps", deps);
    await next();
  };
}

// Scripts and styles only from our own origin, nothing inline: whatever a model or a user
// writes can never run.
export const security = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
});

export function installErrorHandlers(app: Hono<AppEnv>): void {
  app.notFound((c) => apiError(c, 404, "not_found", `Nothing at ${c.req.path}.`));
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      return apiError(c, err.status as 400, "bad_request", err.message || "Bad request.");
    }
    (c.get("log") ?? log).error("request failed", {
      method: c.req.method,
      path: c.req.path,
      error: err instanceof Error ? err.message : String(err),
    });
    const redisDown = /fetch|connect|ECONNREFUSED|Upstash/i.test(String(err));
    return redisDown
      ? apiError(c, 503, "unavailable", "The service is briefly unavailable. Try again shortly.")
      : apiError(c, 500, "internal_error", "Something went wrong on our side.");
  });
}

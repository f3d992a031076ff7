// Cross-cutting concerns for every route: shared deps, security headers, JSON errors.
import type { Hono, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv, Deps } from "../lib/server/services.ts";
import { apiError } from "./_errors.ts";

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
    console.error(`${c.req.method} ${c.req.path} failed:`, err);
    const redisDown = /fetch|connect|ECONNREFUSED|Upstash/i.test(String(err));
    return redisDown
      ? apiError(c, 503, "unavailable", "The service is briefly unavailable. Try again shortly.")
      : apiError(c, 500, "internal_error", "Something went wrong on our side.");
  });
}

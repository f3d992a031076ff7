// The web server: sessions, history, the chat page and one WebSocket per chat. It never calls a
// model (workers do) and writes no files, so it runs on Deno Deploy as it is.
import { Hono } from "hono";
import { serveStatic } from "hono/deno";
import { listenHost, loadConfig } from "./lib/config.ts";
import { configureLogging, log, logOptions } from "./lib/log.ts";
import { resolveRedisEndpoint } from "./lib/redis/client.ts";
import { type AppEnv, createDeps, type Deps } from "./lib/server/services.ts";
import {
  installErrorHandlers,
  limitBodies,
  requestContext,
  security,
  withDeps,
} from "./routes/_middleware.ts";
import * as chat from "./routes/api/chat.ts";
import * as conversations from "./routes/api/conversations.ts";
import * as health from "./routes/api/health.ts";
import * as history from "./routes/api/history.ts";
import * as refreshToken from "./routes/api/refresh_token.ts";
import * as token from "./routes/api/token.ts";
import * as index from "./routes/index.tsx";
import * as docs from "./routes/docs.ts";
import * as metrics from "./routes/metrics.ts";

export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestContext);
  app.use(withDeps(deps));
  app.use(security);
  app.use(limitBodies);

  app.get("/api/health", health.handler);
  app.get("/api/health/live", health.live);
  app.get("/api/health/ready", health.ready);
  app.get("/openapi.json", docs.openapi);
  app.get("/docs", docs.page);
  app.get("/docs/assets/:file", docs.asset);
  app.get("/metrics", metrics.handler);
  app.post("/api/token", token.handler);
  app.get("/api/history", history.handler);
  app.get("/api/refresh_token", refreshToken.handler);
  app.get("/api/chat", chat.handler);
  app.get("/api/conversations", conversations.list);
  app.post("/api/conversations", conversations.create);
  app.get("/api/conversations/:id", conversations.get);
  app.patch("/api/conversations/:id", conversations.rename);
  app.delete("/api/conversations/:id", conversations.remove);
  app.get("/api/conversations/:id/export", conversations.exportConversation);

  // The seed's paths, for its existing clients.
  app.get("/test", health.handler);
  app.post("/token", token.handler);
  app.get("/chat_history", history.handler);
  app.get("/refresh_token", refreshToken.handler);
  app.get("/chat", chat.handler);

  app.get("/", index.handler);
  app.use("/static/*", serveStatic({ root: "./" }));
  installErrorHandlers(app);
  return app;
}

if (import.meta.main) {
  const config = loadConfig();
  configureLogging(logOptions(config), { process: "web" });
  const deps = createDeps(config, await resolveRedisEndpoint(config));
  const app = createApp(deps);
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      port: config.PORT,
      hostname: listenHost(config),
      onListen: ({ hostname, port }) =>
        log.info(`web server listening on http://${hostname}:${port}`, { hostname, port }),
    }, app.fetch);
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    log.error(`port ${config.PORT} is in use; set PORT to another port`, { port: config.PORT });
    Deno.exit(1);
  }
  // Deno Deploy sends SIGINT with 5 s of grace: stop taking requests, let open ones finish.
  const shutdown = async () => {
    deps.relay.close();
    await Promise.race([server.shutdown(), new Promise((r) => setTimeout(r, 4000))]);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", shutdown);
  Deno.addSignalListener("SIGTERM", shutdown);
}

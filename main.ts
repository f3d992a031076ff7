// The web server: sessions, history, the chat page and one WebSocket per chat. It never calls a
// model (workers do) and writes no files, so it runs on Deno Deploy as it is.
import { Hono } from "hono";
import { serveStatic } from "hono/deno";
import { loadConfig } from "./lib/config.ts";
import { createDeps, type Deps } from "./lib/server/services.ts";
import { resolveRedisEndpoint } from "./lib/redis/client.ts";
import type { AppEnv } from "./lib/server/services.ts";
import { installErrorHandlers, security, withDeps } from "./routes/_middleware.ts";
import * as chat from "./routes/api/chat.ts";
import * as health from "./routes/api/health.ts";
import * as history from "./routes/api/history.ts";
import * as refreshToken from "./routes/api/refresh_token.ts";
import * as token from "./routes/api/token.ts";
import * as index from "./routes/index.tsx";

export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(withDeps(deps));
  app.use(security);

  app.get("/api/health", health.handler);
  app.post("/api/token", token.handler);
  app.get("/api/history", history.handler);
  app.get("/api/refresh_token", refreshToken.handler);
  app.get("/api/chat", chat.handler);

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
  const deps = createDeps(config, await resolveRedisEndpoint(config));
  const app = createApp(deps);
  const server = Deno.serve({
    port: config.PORT,
    hostname: config.HOST,
    onListen: ({ hostname, port }) =>
      console.log(`web server listening on http://${hostname}:${port}`),
  }, app.fetch);
  const shutdown = async () => {
    deps.relay.close();
    await server.shutdown();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", shutdown);
  Deno.addSignalListener("SIGTERM", shutdown);
}

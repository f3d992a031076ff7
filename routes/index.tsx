// GET /: the chat page, server-rendered with the Chat island in its boot state.
import type { Context } from "hono";
import type { AppEnv } from "../lib/server/services.ts";
import { MAX_NAME_CHARS } from "../lib/contract/payloads.ts";
import { Island } from "../components/Island.tsx";
import Chat, { type ChatProps } from "../islands/Chat.tsx";
import { App, renderPage } from "./_app.tsx";

let props: ChatProps | null = null;

export function handler(c: Context<AppEnv>): Response | Promise<Response> {
  props ??= { maxMessageChars: c.var.deps.config.MAX_MESSAGE_CHARS, maxNameChars: MAX_NAME_CHARS };
  const html = renderPage(
    <App title="Chat">
      <Island name="Chat" component={Chat} props={props} />
    </App>,
  );
  c.header("Cache-Control", "no-cache");
  return c.html(html);
}

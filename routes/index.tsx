// GET /: the chat page, server-rendered with the Chat island in its boot state.
import type { Context } from "hono";
import { loadConfig } from "../lib/config.ts";
import { MAX_NAME_CHARS } from "../lib/payloads.ts";
import { Island } from "../components/Island.tsx";
import Chat, { type ChatProps } from "../islands/Chat.tsx";
import { App, renderPage } from "./_app.tsx";

/** Scripts and styles only from this origin: no inline code, so injected markup cannot run. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

let props: ChatProps | null = null;

export function handler(c: Context): Response | Promise<Response> {
  props ??= { maxMessageChars: loadConfig().MAX_MESSAGE_CHARS, maxNameChars: MAX_NAME_CHARS };
  const html = renderPage(
    <App title="Chat">
      <Island name="Chat" component={Chat} props={props} />
    </App>,
  );
  c.header("Content-Security-Policy", CSP);
  c.header("Cache-Control", "no-cache");
  return c.html(html);
}

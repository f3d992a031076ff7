// HTTP payloads of ../shared/contract.md, shared by routes, islands and tests (zod/mini, as in
// frames.ts, so the browser bundle stays small).
import * as z from "zod/mini";
import { Message } from "./frames.ts";

export const MAX_NAME_CHARS = 64;

export const TokenRequest = z.object({
  name: z.string({ error: "A name is required." }).check(
    z.trim(),
    z.minLength(1, "A name is required."),
    z.maxLength(MAX_NAME_CHARS, `A name can have at most ${MAX_NAME_CHARS} characters.`),
  ),
});

export const SessionInfo = z.object({
  token: z.string(),
  name: z.string(),
  session_start: z.string(),
  expires_at: z.string(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

export const History = z.object({
  name: z.string(),
  session_start: z.string(),
  expires_at: z.string(),
  messages: z.array(Message),
});
export type History = z.infer<typeof History>;

export const Health = z.object({
  status: z.enum(["ok", "degraded"]),
  redis: z.string(),
  model: z.string(),
  detail: z.optional(z.string()),
});
export type Health = z.infer<typeof Health>;

// HTTP payloads of ../shared/contract.md, shared by routes, islands and tests (zod/mini, as in
// frames.ts, so the browser bundle stays small).
import * as z from "zod/mini";
import { Conversation, Message } from "./frames.ts";
import { MAX_TITLE_CHARS } from "./conversations.ts";

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

export const ConversationList = z.object({ conversations: z.array(Conversation) });
export type ConversationList = z.infer<typeof ConversationList>;

/** GET /api/conversations/:id: the conversation and its messages, oldest first. */
export const ConversationDetail = z.object({
  ...Conversation.shape,
  messages: z.array(Message),
});
export type ConversationDetail = z.infer<typeof ConversationDetail>;

const title = z.string({ error: "A title must be text." }).check(
  z.trim(),
  z.maxLength(MAX_TITLE_CHARS, `A title can have at most ${MAX_TITLE_CHARS} characters.`),
);

/** POST /api/conversations: an optional title (empty until the first message otherwise). */
export const CreateConversation = z.object({ title: z.optional(title) });

/** PATCH /api/conversations/:id: 1–120 characters after trimming. */
export const RenameConversation = z.object({
  title: title.check(z.minLength(1, "A title cannot be empty.")),
});

export const Health = z.object({
  status: z.enum(["ok", "degraded"]),
  redis: z.string(),
  model: z.string(),
  /** What the model runs on, when a worker knows (the embedded model: "cpu", "cuda: <device>"). */
  gpu: z.optional(z.string()),
  detail: z.optional(z.string()),
});
export type Health = z.infer<typeof Health>;

// --- Operations: errors and probes (routes/api/health.ts, routes/_errors.ts) ---

/** Every HTTP error: `code` is snake_case for programs, `message` is for a person. */
export const ApiError = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ApiError = z.infer<typeof ApiError>;

/** GET /api/health/live: the process serves requests (no dependency is asked). */
export const Liveness = z.object({ status: z.literal("ok") });
export type Liveness = z.infer<typeof Liveness>;

/** GET /api/health/ready: Redis answers (workers are not needed to serve pages and sessions). */
export const Readiness = z.object({
  status: z.enum(["ok", "unavailable"]),
  redis: z.enum(["ok", "unreachable"]),
});
export type Readiness = z.infer<typeof Readiness>;

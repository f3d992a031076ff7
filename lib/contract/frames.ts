// The one definition of every WebSocket frame (see ../shared/contract.md). Imported by the
// server, the worker and the islands, so it uses zod/mini (≈ 7 KB gzipped in the browser bundle)
// and must stay free of server-only imports.
import * as z from "zod/mini";

export const MAX_TURN_ID_CHARS = 128;

/** Why a user turn failed; kept on the user message (in history too) until it is retried. */
export const TurnError = z.object({ code: z.string(), message: z.string() });
export type TurnError = z.infer<typeof TurnError>;

export const Message = z.object({
  id: z.string(),
  role: z.enum(["user", "assistant"]),
  content: z.string(),
  timestamp: z.string(),
  /** An assistant reply the user stopped. */
  stopped: z.optional(z.boolean()),
  /** A user message whose turn failed (no assistant message follows it). */
  error: z.optional(TurnError),
});
export type Message = z.infer<typeof Message>;

/** A conversation as listed; `title` is "" until its first user message (or a rename). */
export const Conversation = z.object({
  id: z.string(),
  title: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  message_count: z.number().check(z.int(), z.nonnegative()),
});
export type Conversation = z.infer<typeof Conversation>;

/**
 * Client-made turn ids: URL-safe characters only. The server derives internal names from them with
 * ":" (`<id>:stop`, `<id>:a`), so an id can never collide with one of those.
 */
export const TURN_ID = /^[A-Za-z0-9._~-]+$/;
const turnId = z.string().check(
  z.trim(),
  z.minLength(1),
  z.maxLength(MAX_TURN_ID_CHARS),
  z.regex(TURN_ID, "Ids may only contain letters, digits and . _ ~ -"),
);

/** Absent: the default conversation. Any other string that is not one of ours is not found. */
const conversationRef = z.optional(z.string().check(z.minLength(1), z.maxLength(128)));

export const ClientMessage = z.object({
  type: z.literal("message"),
  id: turnId,
  content: z.string(),
  conversation: conversationRef,
  /** A failed user message of the conversation that this turn sends again: it is removed. */
  retries: z.optional(turnId),
});
export const ClientStop = z.object({ type: z.literal("stop"), id: turnId });
export const ClientResume = z.object({
  type: z.literal("resume"),
  after: z.string().check(z.maxLength(64)),
});
/** Answer the conversation's last user message again, replacing the last reply. */
export const ClientRegenerate = z.object({
  type: z.literal("regenerate"),
  id: turnId,
  conversation: conversationRef,
});
/** Replace a user message (and drop everything after it), then answer the new one. */
export const ClientEdit = z.object({
  type: z.literal("edit"),
  id: turnId,
  message: turnId,
  content: z.string(),
  conversation: conversationRef,
});
export const ClientFrame = z.discriminatedUnion("type", [
  ClientMessage,
  ClientStop,
  ClientResume,
  ClientRegenerate,
  ClientEdit,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
/** The frames that start a turn. */
export type TurnFrame = z.infer<typeof ClientMessage | typeof ClientRegenerate | typeof ClientEdit>;

export const ErrorCode = z.enum([
  "rate_limited",
  "message_too_long",
  "invalid_frame",
  "model_unavailable",
  "model_error",
  "session_expired",
  "conversation_not_found",
  "too_many_conversations",
  "busy",
  "internal_error",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** The conversation a server frame belongs to (optional in the schema: older servers omit it). */
const inConversation = z.optional(z.string());

export const AckFrame = z.object({
  type: z.literal("ack"),
  id: z.string(),
  conversation: inConversation,
});
/** `offset` is where `text` starts in the reply: a retried turn restarts at 0. */
export const DeltaFrame = z.object({
  type: z.literal("delta"),
  id: z.string(),
  text: z.string(),
  offset: z.number().check(z.int(), z.nonnegative()),
  event: z.string(),
  conversation: inConversation,
});
export const DoneFrame = z.object({
  type: z.literal("done"),
  id: z.string(),
  message: Message,
  stopped: z.optional(z.boolean()),
  event: z.string(),
  conversation: inConversation,
});
/** `code` stays open to codes a newer server may add; ErrorCode lists what this one sends. */
export const ErrorFrame = z.object({
  type: z.literal("error"),
  id: z.optional(z.string()),
  code: z.string(),
  message: z.string(),
  event: z.optional(z.string()),
  conversation: inConversation,
});
/**
 * A user message was accepted (from this tab or another). `edited`: the message it replaces, which
 * is gone with everything after it; `retried`: a failed message it sends again, which is gone;
 * `regenerate`: `message` is an existing one answered again, and the replies after it are gone.
 */
export const UserFrame = z.object({
  type: z.literal("user"),
  id: z.string(),
  message: Message,
  event: z.string(),
  conversation: inConversation,
  edited: z.optional(z.string()),
  retried: z.optional(z.string()),
  regenerate: z.optional(z.boolean()),
});
/** A conversation was created, renamed or got its title; `id` is the conversation's. */
export const ConversationFrame = z.object({
  type: z.literal("conversation"),
  id: z.string(),
  conversation: Conversation,
  event: z.optional(z.string()),
});
export const ConversationDeletedFrame = z.object({
  type: z.literal("conversation_deleted"),
  id: z.string(),
  event: z.optional(z.string()),
});
export const ServerFrame = z.discriminatedUnion("type", [
  AckFrame,
  DeltaFrame,
  DoneFrame,
  ErrorFrame,
  UserFrame,
  ConversationFrame,
  ConversationDeletedFrame,
]);
export type AckFrame = z.infer<typeof AckFrame>;
export type DeltaFrame = z.infer<typeof DeltaFrame>;
export type DoneFrame = z.infer<typeof DoneFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
export type UserFrame = z.infer<typeof UserFrame>;
export type ConversationFrame = z.infer<typeof ConversationFrame>;
export type ConversationDeletedFrame = z.infer<typeof ConversationDeletedFrame>;
export type ServerFrame = z.infer<typeof ServerFrame>;

/** A reply event as the worker writes it to a session's reply stream; `event` is the stream id. */
export type ReplyEvent =
  | Omit<DeltaFrame, "event">
  | Omit<DoneFrame, "event">
  | Omit<ErrorFrame, "event">
  | Omit<UserFrame, "event">
  | Omit<ConversationFrame, "event">
  | Omit<ConversationDeletedFrame, "event">;

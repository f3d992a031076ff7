// The one definition of every WebSocket frame (see ../shared/contract.md). Imported by the
// server, the worker and the islands, so it uses zod/mini (≈ 7 KB gzipped in the browser bundle)
// and must stay free of server-only imports.
import * as z from "zod/mini";

export const MAX_TURN_ID_CHARS = 128;

export const Message = z.object({
  id: z.string(),
  role: z.enum(["user", "assistant"]),
  content: z.string(),
  timestamp: z.string(),
});
export type Message = z.infer<typeof Message>;

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

export const ClientMessage = z.object({
  type: z.literal("message"),
  id: turnId,
  content: z.string(),
});
export const ClientStop = z.object({ type: z.literal("stop"), id: turnId });
export const ClientResume = z.object({
  type: z.literal("resume"),
  after: z.string().check(z.maxLength(64)),
});
export const ClientFrame = z.discriminatedUnion("type", [ClientMessage, ClientStop, ClientResume]);
export type ClientFrame = z.infer<typeof ClientFrame>;

export const ErrorCode = z.enum([
  "rate_limited",
  "message_too_long",
  "invalid_frame",
  "model_unavailable",
  "model_error",
  "session_expired",
  "internal_error",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const AckFrame = z.object({ type: z.literal("ack"), id: z.string() });
/** `offset` is where `text` starts in the reply: a retried turn restarts at 0. */
export const DeltaFrame = z.object({
  type: z.literal("delta"),
  id: z.string(),
  text: z.string(),
  offset: z.number().check(z.int(), z.nonnegative()),
  event: z.string(),
});
export const DoneFrame = z.object({
  type: z.literal("done"),
  id: z.string(),
  message: Message,
  stopped: z.optional(z.boolean()),
  event: z.string(),
});
/** `code` stays open to codes a newer server may add; ErrorCode lists what this one sends. */
export const ErrorFrame = z.object({
  type: z.literal("error"),
  id: z.optional(z.string()),
  code: z.string(),
  message: z.string(),
  event: z.optional(z.string()),
});
export const ServerFrame = z.discriminatedUnion("type", [
  AckFrame,
  DeltaFrame,
  DoneFrame,
  ErrorFrame,
]);
export type AckFrame = z.infer<typeof AckFrame>;
export type DeltaFrame = z.infer<typeof DeltaFrame>;
export type DoneFrame = z.infer<typeof DoneFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
export type ServerFrame = z.infer<typeof ServerFrame>;

/** A reply event as the worker writes it to a session's reply stream; `event` is the stream id. */
export type ReplyEvent =
  | Omit<DeltaFrame, "event">
  | Omit<DoneFrame, "event">
  | Omit<ErrorFrame, "event">;

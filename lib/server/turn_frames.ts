// The frames that start a turn (`message`, `edit`, `regenerate`): checked, rate-limited, then
// queued by one ACCEPT_TURN (which also applies the session's rate limit and hands the turn to a
// worker with a free slot), whose named outcome becomes the client's ack or error.
import { DEFAULT_CONVERSATION, isConversationId } from "../contract/conversations.ts";
import type { ErrorCode, TurnFrame } from "../contract/frames.ts";
import type { Logger } from "../log.ts";
import type { AcceptOutcome } from "../redis/turn_queue.ts";
import type { Deps } from "./services.ts";
import { USER_MESSAGES } from "./user_messages.ts";

/** What a socket does with the outcome; the socket's own state stays in ChatConnection. */
export interface TurnSink {
  error(code: ErrorCode, message: string, id: string, conversation?: string): void;
  ack(id: string, conversation: string): void;
  /** The turn is queued (not a duplicate): watch it until it ends. */
  queued(id: string): void;
  /** The session is gone: say so and close. */
  expired(id: string): void;
}

const REFUSALS: Partial<Record<AcceptOutcome, [ErrorCode, string]>> = {
  conversation_not_found: ["conversation_not_found", "That conversation does not exist."],
  too_many_conversations: [
    "too_many_conversations",
    "You have too many conversations. Delete one to start another.",
  ],
  busy: ["busy", "A reply is still being written in this conversation. Wait or stop it first."],
};

export async function acceptTurnFrame(
  f: TurnFrame,
  ctx: {
    token: string;
    requestId: string;
    userName: string;
    deps: Deps;
    log: Logger;
    sink: TurnSink;
  },
): Promise<void> {
  const { config, queue, availability } = ctx.deps;
  const { sink, log } = ctx;
  const conversation = f.conversation ?? DEFAULT_CONVERSATION;
  if (!isConversationId(conversation)) {
    return sink.error("conversation_not_found", "That conversation does not exist.", f.id);
  }
  if (f.type !== "regenerate") {
    if (!f.content.trim()) {
      return sink.error("invalid_frame", "A message cannot be empty.", f.id, conversation);
    }
    if (f.content.length > config.MAX_MESSAGE_CHARS) {
      return sink.error(
        "message_too_long",
        `Messages are limited to ${config.MAX_MESSAGE_CHARS} characters (this one has ${f.content.length}).`,
        f.id,
        conversation,
      );
    }
  }
  const model = await availability(true);
  if (!model.available) {
    log.warn("turn refused: no model", { turn: f.id, detail: model.detail });
    return sink.error("model_unavailable", USER_MESSAGES.noModel, f.id, conversation);
  }
  const { outcome: accepted, retryAfterMs, worker } = await queue.accept(
    ctx.token,
    f.id,
    f.type === "regenerate" ? "" : f.content,
    ctx.requestId,
    {
      conversation,
      kind: f.type === "message" ? "message" : f.type,
      target: f.type === "edit" ? f.message : f.type === "message" ? f.retries : undefined,
      userName: ctx.userName,
      workers: model.workers,
    },
  );
  if (accepted === "session_gone") return sink.expired(f.id);
  if (accepted === "rate_limited") {
    const wait = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return sink.error(
      "rate_limited",
      `Too many messages. Try again in ${wait} s.`,
      f.id,
      conversation,
    );
  }
  const refusal = REFUSALS[accepted];
  if (refusal) return sink.error(refusal[0], refusal[1], f.id, conversation);
  if (accepted === "no_such_message") {
    const what = f.type === "edit"
      ? "That message is not one of this conversation's to edit."
      : "There is no message to answer again in this conversation.";
    return sink.error("invalid_frame", what, f.id, conversation);
  }
  // A duplicate id is acknowledged again but never queued twice.
  if (accepted === "queued") {
    sink.queued(f.id);
    log.info("turn queued", { turn: f.id, kind: f.type, worker: worker ?? undefined });
  }
  sink.ack(f.id, conversation);
}

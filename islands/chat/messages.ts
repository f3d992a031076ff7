// The conversation as plain data, and what the person's own actions do to it: history loaded, a
// turn sent, edited, regenerated, withdrawn for a retry, stopped, or cut off by expiry. Server
// frames are in replies.ts. Pure functions, so every rule is unit-tested without a socket or
// signals.
import type { Message, TurnFrame } from "../../lib/contract/frames.ts";
import type { UiMessage } from "../../components/types.ts";
import { emptyOutbox, type Outbox, queue, withStop } from "./outbox.ts";

export interface Conversation {
  readonly messages: UiMessage[];
  readonly outbox: Outbox;
  /** The turn whose reply is awaited or streaming. */
  readonly activeTurn: string | null;
  readonly stopping: boolean;
  /** The newest reply event applied; a replay after a resume repeats older ones. */
  readonly lastEvent: string | null;
  /** A replay was asked for to fill a gap; asking again before it arrives would only repeat it. */
  readonly gapResumeAsked: boolean;
}

export const newConversation = (): Conversation => ({
  messages: [],
  outbox: emptyOutbox,
  activeTurn: null,
  stopping: false,
  lastEvent: null,
  gapResumeAsked: false,
});

/** Stored messages keep their outcome: a stopped reply, a failed question (with Retry). */
export const fromHistory = (history: Message[]): UiMessage[] =>
  history.map((m) => ({
    key: m.id,
    id: m.id,
    role: m.role,
    content: m.content,
    // The server keeps the client's turn id as the user message id; harmless if it does not.
    turn: m.role === "user" ? m.id : undefined,
    state: m.error ? "failed" : m.stopped ? "stopped" : "done",
    ...(m.error ? { error: m.error.message } : {}),
    timestamp: m.timestamp,
  }));

/** The question shows at once as "sending", with an empty reply waiting under it. */
export function startTurn(
  state: Conversation,
  turn: string,
  content: string,
  frame?: TurnFrame,
): Conversation {
  return {
    ...state,
    outbox: queue(state.outbox, turn, content, frame),
    messages: [
      ...state.messages,
      { key: turn, turn, role: "user", content, state: "sending" },
      { key: `reply:${turn}`, turn, role: "assistant", content: "", state: "streaming" },
    ],
    activeTurn: turn,
  };
}

/** Takes a turn out of the list so it can be sent again as a new one; null while a reply runs. */
export function withdrawTurn(
  state: Conversation,
  turn: string,
): { state: Conversation; content: string } | null {
  const asked = state.messages.find((m) => m.role === "user" && m.turn === turn);
  if (!asked || state.activeTurn !== null) return null;
  return {
    state: { ...state, messages: state.messages.filter((m) => m.turn !== turn) },
    content: asked.content,
  };
}

/** Where user message `id` (its stored id, or the turn that sent it) is; -1 if not shown. */
export const userAt = (list: UiMessage[], id: string): number =>
  list.findIndex((m) => m.role === "user" && (m.id === id || m.turn === id));

/** An edit: the message and everything after it go, the new text is asked as turn `turn`. */
export function startEdit(
  state: Conversation,
  turn: string,
  target: string,
  content: string,
  frame?: TurnFrame,
): Conversation | null {
  const at = userAt(state.messages, target);
  if (at < 0 || state.activeTurn !== null) return null;
  return startTurn({ ...state, messages: state.messages.slice(0, at) }, turn, content, frame);
}

/** Whether the last reply can be answered again: nothing running, and a question to answer. */
export const canRegenerate = (state: Conversation): boolean =>
  state.activeTurn === null && state.messages.some((m) => m.role === "user");

/** A regenerate: the replies after the last question go, and an empty one waits for turn `turn`. */
export function startRegenerate(
  state: Conversation,
  turn: string,
  frame?: TurnFrame,
): Conversation | null {
  if (!canRegenerate(state)) return null;
  const last = state.messages.findLastIndex((m) => m.role === "user");
  const messages = state.messages.slice(0, last + 1);
  const { error: _, ...asked } = messages[last];
  messages[last] = { ...asked, state: "done" };
  messages.push({ key: `reply:${turn}`, turn, role: "assistant", content: "", state: "streaming" });
  return { ...state, messages, outbox: queue(state.outbox, turn, "", frame), activeTurn: turn };
}

/** Marks the active turn as stopping and keeps the Stop in the outbox until it is sent. */
export function requestStop(state: Conversation): Conversation | null {
  const turn = state.activeTurn;
  if (!turn || state.stopping) return null;
  return { ...state, stopping: true, outbox: withStop(state.outbox, turn) };
}

/** Ends every turn in flight: unsent questions fail, partial replies stay as stopped. */
export function expire(state: Conversation): Conversation {
  return {
    ...state,
    outbox: emptyOutbox,
    activeTurn: null,
    stopping: false,
    messages: state.messages.flatMap((m): UiMessage[] =>
      m.state === "sending"
        ? [{ ...m, state: "failed", error: "Not sent: the session expired." }]
        : m.state === "streaming"
        ? (m.content ? [{ ...m, state: "stopped" }] : [])
        : [m]
    ),
  };
}

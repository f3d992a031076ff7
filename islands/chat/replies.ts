// How server frames change the conversation: acks, questions asked (here or in another tab),
// reply deltas placed at their offsets, the stored reply replacing the streamed one, errors failing
// the turn they belong to. Pure functions: the result says what to show and what the caller must
// do (save, announce, ask for a replay). The list frames (`conversation…`) are the sidebar's.
import type {
  DeltaFrame,
  DoneFrame,
  ErrorFrame,
  ServerFrame,
  UserFrame,
} from "../../lib/contract/frames.ts";
import type { UiMessage } from "../../components/types.ts";
import { applyDelta, isNewEvent } from "./events.ts";
import { type Conversation, userAt } from "./messages.ts";
import { ack, isQueued, oldestUnacked, settle } from "./outbox.ts";

/** What a frame changed, and what the caller must do beyond showing the new state. */
export interface Outcome {
  state: Conversation;
  /** Ask the server to replay the reply events after this one. */
  resume?: string;
  /** The event that finished a turn: a reload replays only what came after it. */
  finished?: string;
  /** For screen readers. */
  announce?: string;
  /** An error that belongs to no message of ours. */
  toast?: string;
  /** The server ended the session. */
  expired?: boolean;
  /** A reply came (the model may be back) or the model is unavailable: worth a health check. */
  health?: "up" | "down";
}

export function receive(state: Conversation, frame: ServerFrame): Outcome {
  if (frame.type === "ack") return { state: acknowledge(state, frame.id) };
  if (frame.type === "conversation" || frame.type === "conversation_deleted") return { state };
  // Replays after a resume may repeat events already applied: the event id order decides.
  if (frame.event !== undefined && !isNewEvent(frame.event, state.lastEvent)) return { state };
  if (frame.type === "delta") return delta(state, frame);
  if (frame.type === "done") return done(state, frame);
  if (frame.type === "user") return { state: asked(state, frame) };
  return error(state, frame);
}

function acknowledge(state: Conversation, turn: string): Conversation {
  const outbox = ack(state.outbox, turn);
  const user = userIndex(state.messages, turn);
  if (user < 0 || state.messages[user].state !== "sending") return { ...state, outbox };
  const messages = state.messages.slice();
  messages[user] = { ...messages[user], state: "done" };
  return { ...state, outbox, messages };
}

const placeholder = (turn: string): UiMessage => ({
  key: `reply:${turn}`,
  turn,
  role: "assistant",
  content: "",
  state: "streaming",
});

/**
 * A question was accepted, from this tab or another: it shows (once), with the reply coming under
 * it. An edit or a retry first removes what it replaces; a regenerate the replies it replaces.
 */
function asked(state: Conversation, frame: UserFrame): Conversation {
  const m = frame.message;
  let messages = state.messages.slice();
  const edited = frame.edited === undefined ? -1 : userAt(messages, frame.edited);
  if (edited >= 0) messages = messages.slice(0, edited);
  if (frame.retried !== undefined) {
    messages = messages.filter((x) => x.turn !== frame.retried && x.id !== frame.retried);
  }
  let at = userAt(messages, m.id);
  if (frame.regenerate && at >= 0) {
    let end = at + 1;
    while (messages[end]?.role === "assistant" && messages[end].turn !== frame.id) end++;
    messages.splice(at + 1, end - at - 1);
    const { error: _, ...question } = messages[at];
    messages[at] = { ...question, state: "done" };
  }
  if (at >= 0) {
    const q = messages[at];
    messages[at] = {
      ...q,
      id: m.id,
      timestamp: m.timestamp,
      state: q.state === "sending" ? "done" : q.state,
    };
  } else if (!frame.regenerate) {
    messages.push({
      key: m.id,
      id: m.id,
      turn: frame.id,
      role: "user",
      content: m.content,
      state: "done",
      timestamp: m.timestamp,
    });
    at = messages.length - 1;
  }
  let activeTurn = state.activeTurn;
  // Its reply is on the way: show that it is coming, unless a reply already follows it.
  if (at >= 0 && replyIndex(messages, frame.id) < 0 && messages[at + 1]?.role !== "assistant") {
    messages.splice(at + 1, 0, placeholder(frame.id));
    activeTurn ??= frame.id;
  }
  return { ...state, messages, lastEvent: frame.event, gapResumeAsked: false, activeTurn };
}

function delta(state: Conversation, frame: DeltaFrame): Outcome {
  if (alreadyAnswered(state.messages, frame.id)) {
    return { state: { ...state, lastEvent: frame.event } };
  }
  const messages = state.messages.slice();
  let index = replyIndex(messages, frame.id);
  if (index < 0) {
    // A reply we did not start here (the page was reloaded mid-reply): show it where it belongs.
    index = insertionPoint(messages, frame.id);
    messages.splice(index, 0, placeholder(frame.id));
  }
  const result = applyDelta(messages[index].content, frame.offset, frame.text);
  if (result.kind === "gap") {
    // Pieces were missed: ask for a replay from the last applied event, once per gap.
    if (state.gapResumeAsked) return { state };
    return { state: { ...state, gapResumeAsked: true }, resume: state.lastEvent ?? "0-0" };
  }
  messages[index] = { ...messages[index], content: result.text, state: "streaming" };
  return {
    state: {
      ...state,
      messages,
      lastEvent: frame.event,
      gapResumeAsked: false,
      activeTurn: state.activeTurn ?? frame.id,
    },
  };
}

function done(state: Conversation, frame: DoneFrame): Outcome {
  const messages = state.messages.slice();
  const final: UiMessage = {
    key: `reply:${frame.id}`,
    id: frame.message.id,
    role: "assistant",
    content: frame.message.content,
    turn: frame.id,
    state: frame.stopped ? "stopped" : "done",
    timestamp: frame.message.timestamp,
  };
  const bubble = replyIndex(messages, frame.id);
  const known = messages.findIndex((m) => m.id === frame.message.id);
  if (known >= 0) {
    // Already there (loaded with the history): update it and drop any replayed copy.
    messages[known] = { ...final, key: messages[known].key };
    if (bubble >= 0 && bubble !== known) messages.splice(bubble, 1);
  } else if (bubble >= 0) {
    messages[bubble] = final;
  } else {
    messages.splice(insertionPoint(messages, frame.id), 0, final);
  }
  const user = userIndex(messages, frame.id);
  if (user >= 0 && messages[user].state === "sending") {
    messages[user] = { ...messages[user], state: "done" };
  }
  return {
    state: {
      ...settleTurn(state, frame.id),
      messages,
      lastEvent: frame.event,
    },
    finished: frame.event,
    announce: frame.stopped ? "Reply stopped." : `Assistant: ${frame.message.content}`,
    health: "up",
  };
}

function error(state: Conversation, frame: ErrorFrame): Outcome {
  const seen = frame.event === undefined ? state : { ...state, lastEvent: frame.event };
  // A failed turn is finished too.
  const finished = frame.id !== undefined ? frame.event : undefined;
  if (frame.code === "session_expired") return { state: seen, finished, expired: true };
  // A Stop that crossed the end of its reply is refused; its `done` says all there is to say.
  if (frame.id !== undefined && frame.code === "invalid_frame") {
    if (!isPending(seen, frame.id)) return { state: seen, finished };
    if (seen.stopping && seen.activeTurn === frame.id) {
      return { state: { ...seen, stopping: false }, finished };
    }
  }
  const health = frame.code === "model_unavailable" ? "down" : undefined;
  // The server answers each frame in order, so an error without an id that is not about a frame
  // we got wrong belongs to the oldest turn still waiting for its ack: fail it, or it hangs.
  const turn = frame.id ??
    (frame.code === "invalid_frame" ? undefined : oldestUnacked(seen.outbox));
  if (turn === undefined || !isPending(seen, turn)) {
    return { state: seen, finished, health, toast: frame.message };
  }
  // Shown on the message itself (with Retry), and read out.
  const messages = seen.messages.flatMap((m): UiMessage[] => {
    if (m.turn !== turn) return [m];
    if (m.role === "user") return [{ ...m, state: "failed", error: frame.message }];
    // Keep any text the reply got before it failed.
    return m.content ? [{ ...m, state: "failed", error: frame.message }] : [];
  });
  return {
    state: { ...settleTurn(seen, turn), messages },
    finished,
    health,
    announce: frame.message,
  };
}

/** The turn has its answer: out of the outbox, and no longer what the composer waits on. */
function settleTurn(state: Conversation, turn: string): Conversation {
  const outbox = settle(state.outbox, turn);
  return state.activeTurn === turn
    ? { ...state, outbox, activeTurn: null, stopping: false }
    : { ...state, outbox };
}

const isPending = (state: Conversation, turn: string): boolean =>
  isQueued(state.outbox, turn) || state.activeTurn === turn;

const userIndex = (list: UiMessage[], turn: string): number =>
  list.findIndex((m) => m.role === "user" && m.turn === turn);

const replyIndex = (list: UiMessage[], turn: string): number =>
  list.findIndex((m) => m.role === "assistant" && m.turn === turn);

/** A turn whose reply is already shown in full (for example, from the history). */
function alreadyAnswered(list: UiMessage[], turn: string): boolean {
  const user = userIndex(list, turn);
  const reply = list[user + 1];
  return user >= 0 && reply?.role === "assistant" && reply.id !== undefined &&
    reply.turn !== turn;
}

/** Right after the turn's question when it is shown, else at the end. */
function insertionPoint(list: UiMessage[], turn: string): number {
  const user = userIndex(list, turn);
  return user >= 0 ? user + 1 : list.length;
}

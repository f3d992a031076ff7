// Every conversation the page holds, as plain data (messages.ts's Conversation) keyed by id: the
// socket is the session's, so frames for any of them arrive on it and are routed here. No signals:
// the store shows the current one.
import type { ClientFrame, ServerFrame } from "../../lib/contract/frames.ts";
import { DEFAULT_CONVERSATION } from "../../lib/contract/conversations.ts";
import * as conversation from "./messages.ts";
import { NO_REPLAY, reopenFrames, type ReplayPoint } from "./outbox.ts";

export class Threads {
  readonly #map = new Map<string, conversation.Conversation>();

  get(id: string): conversation.Conversation | undefined {
    return this.#map.get(id);
  }

  /** The conversation `id`, or a new empty one (not kept until set). */
  of(id: string): conversation.Conversation {
    return this.#map.get(id) ?? conversation.newConversation();
  }

  set(id: string, state: conversation.Conversation): void {
    this.#map.set(id, state);
  }

  delete(id: string): void {
    this.#map.delete(id);
  }

  clear(): void {
    this.#map.clear();
  }

  /**
   * Which conversation a frame is about: the one it names; for an error that names none, the one
   * waiting on its turn (or the oldest unacknowledged turn anywhere, which the server answers
   * first); else `fallback`.
   */
  owner(frame: ServerFrame, fallback: string): string {
    if ("conversation" in frame && typeof frame.conversation === "string") {
      return frame.conversation;
    }
    if (frame.type !== "error") return DEFAULT_CONVERSATION;
    if (frame.id !== undefined) return this.ownerOfTurn(frame.id, fallback);
    if (frame.code === "invalid_frame") return fallback;
    for (const [id, s] of this.#map) if (s.outbox.turns.some((t) => !t.acked)) return id;
    return fallback;
  }

  /** The conversation waiting on turn `turn`, else `fallback`. */
  ownerOfTurn(turn: string, fallback: string): string {
    for (const [id, s] of this.#map) {
      if (s.activeTurn === turn || s.outbox.turns.some((t) => t.id === turn)) return id;
    }
    return fallback;
  }

  /** What a socket that just opened sends: one `resume`, then every conversation's outbox. */
  reopen(point: ReplayPoint): ClientFrame[] {
    const [first, ...rest] = [...this.#map.values()];
    const frames = reopenFrames(first?.outbox ?? { turns: [], stop: null }, point);
    for (const s of rest) frames.push(...reopenFrames(s.outbox, NO_REPLAY));
    for (const [id, s] of this.#map) this.#map.set(id, { ...s, gapResumeAsked: false });
    return frames;
  }

  /** Changes conversation `id`, if held. */
  update(id: string, change: (s: conversation.Conversation) => conversation.Conversation): void {
    const s = this.#map.get(id);
    if (s) this.#map.set(id, change(s));
  }

  /** Expiry ends every turn in flight, everywhere. */
  expireAll(): void {
    for (const [id, s] of this.#map) this.#map.set(id, conversation.expire(s));
  }
}

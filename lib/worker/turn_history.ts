// Where a turn's conversation comes from: its hand-off, rebuilt with what this worker keeps
// (conversation_cache.ts), or else one read of the session's history.
import type { Message } from "../contract/frames.ts";
import type { Handoff } from "../redis/handoff.ts";
import type { QueuedTurn } from "../redis/turn_queue.ts";
import { ConversationCache } from "./conversation_cache.ts";

/** A conversation of one session, as the worker keeps it (in memory only, never logged). */
const conversationKey = (turn: QueuedTurn) => `${turn.token} ${turn.conversation}`;

export class TurnHistory {
  readonly #kept = new ConversationCache();

  constructor(
    /** A conversation's stored members (message_members.ts), oldest first. */
    private readonly read: (token: string, conversation: string) => Promise<string[]>,
  ) {}

  /**
   * The conversation as the hand-off brings it, if it does. Called as each hand-off arrives,
   * before anything is awaited, so that they reach what is kept in the order they came.
   */
  handed(turn: QueuedTurn, handoff?: Handoff): Message[] | undefined {
    const key = conversationKey(turn);
    if (handoff?.members) return this.#kept.replace(key, handoff.members);
    const tail = handoff?.tail;
    return tail && (this.#kept.extend(key, tail.members, tail.count) ?? undefined);
  }

  /** The conversation read from Redis (and kept, unless a hand-off came meanwhile). */
  async fetch(turn: QueuedTurn): Promise<Message[]> {
    const key = conversationKey(turn);
    const mark = this.#kept.mark(key);
    const members = await this.read(turn.token, turn.conversation);
    return this.#kept.replaceIf(key, mark, members);
  }

  /** The worker subscribed again: a hand-off may have been lost, so nothing kept is trusted. */
  forget(): void {
    this.#kept.clear();
  }
}

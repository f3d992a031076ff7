// The conversation shown and every other one the page holds (threads.ts): its signals, the
// person's actions on it (send, edit, regenerate, stop, retry, switch, new chat), and the socket's
// frames routed to the conversation they belong to. The rules are messages.ts's and replies.ts's.
import { batch, computed, signal } from "@preact/signals";
import type { ClientFrame, ServerFrame, TurnFrame } from "../../lib/contract/frames.ts";
import { DEFAULT_CONVERSATION } from "../../lib/contract/conversations.ts";
import type { UiMessage } from "../../components/types.ts";
import { fetchConversation, isNotFound } from "./api.ts";
import { displayTitle } from "./conversation_list.ts";
import * as conversation from "./messages.ts";
import { type ReplayPoint, stopSent } from "./outbox.ts";
import { type Outcome, receive } from "./replies.ts";
import { saveCurrent } from "./saved.ts";
import type { Sidebar } from "./sidebar.ts";
import { Threads } from "./threads.ts";
import { newTurnId } from "./wire.ts";

export interface ViewHooks {
  token(): string;
  /** False when the socket is down; the outbox re-sends what matters on the next open. */
  send(frame: ClientFrame): boolean;
  toast(text: string): void;
  /** The session has expired: nothing more is sent. */
  ended(): boolean;
  maxChars: number;
}

export class ConversationView {
  readonly messages = signal<UiMessage[]>([]);
  /** The turn whose reply is awaited or streaming, in the conversation shown. */
  readonly activeTurn = signal<string | null>(null);
  readonly stopping = signal(false);
  /** The conversation shown. */
  readonly current = signal(DEFAULT_CONVERSATION);
  readonly switching = signal(false);
  readonly busy = computed(() => this.activeTurn.value !== null);
  readonly title = computed(() =>
    displayTitle(this.sidebar.find(this.current.value) ?? { title: "" })
  );
  readonly #threads = new Threads();

  constructor(private readonly hooks: ViewHooks, private readonly sidebar: Sidebar) {}

  /** Returns false when the text was not sent (empty, too long, or a reply is in progress). */
  send(text: string, retries?: string): boolean {
    if (!text.trim() || this.busy.value || this.hooks.ended()) return false;
    if (text.length > this.hooks.maxChars) {
      this.hooks.toast(`A message can have at most ${this.hooks.maxChars} characters.`);
      return false;
    }
    const id = newTurnId();
    const frame: TurnFrame = {
      type: "message",
      id,
      content: text,
      ...this.#target(),
      ...(retries ? { retries } : {}),
    };
    this.#change(conversation.startTurn(this.#shown(), id, text, frame));
    this.hooks.send(frame);
    return true;
  }

  /** Replaces a question (and what followed it) with new text, answered again. */
  edit(message: string, text: string): boolean {
    if (!text.trim() || text.length > this.hooks.maxChars || this.hooks.ended()) return false;
    const id = newTurnId();
    const frame: TurnFrame = { type: "edit", id, message, content: text, ...this.#target() };
    const next = conversation.startEdit(this.#shown(), id, message, text, frame);
    if (!next) return false;
    this.#change(next);
    this.hooks.send(frame);
    return true;
  }

  /** Answers the last question again, in place of the last reply. */
  regenerate(): void {
    if (this.hooks.ended()) return;
    const id = newTurnId();
    const frame: TurnFrame = { type: "regenerate", id, ...this.#target() };
    const next = conversation.startRegenerate(this.#shown(), id, frame);
    if (!next) return;
    this.#change(next);
    this.hooks.send(frame);
  }

  stop(): void {
    const next = conversation.requestStop(this.#shown());
    if (!next) return;
    this.#change(next);
    if (this.hooks.send({ type: "stop", id: next.activeTurn! })) this.stopSent(next.activeTurn!);
  }

  /** Takes a failed question out to send it again; its text, and the stored message it replaces. */
  withdraw(turn: string): { content: string; replaces?: string } | null {
    const shown = this.#shown();
    const withdrawn = conversation.withdrawTurn(shown, turn);
    if (!withdrawn) return null;
    const failed = shown.messages.find((m) => m.role === "user" && m.turn === turn);
    this.#change(withdrawn.state);
    return { content: withdrawn.content, replaces: failed?.id };
  }

  /** Shows conversation `id`: at once if the page holds it, else fetched. */
  async open(id: string): Promise<void> {
    this.sidebar.open.value = false;
    if (id === this.current.value && this.#threads.get(id)) return;
    performance.mark("chat:switch-start");
    saveCurrent(id);
    if (!this.#threads.get(id)) {
      this.switching.value = true;
      try {
        const { messages } = await fetchConversation(this.hooks.token(), id);
        performance.mark("chat:switch-fetched");
        this.load(id, messages);
      } catch (e) {
        // The default conversation exists from its first turn on: before, it is simply empty.
        if (!(isNotFound(e) && id === DEFAULT_CONVERSATION)) {
          this.hooks.toast((e as Error).message);
          return;
        }
        this.#threads.set(id, conversation.newConversation());
      } finally {
        this.switching.value = false;
      }
    }
    this.current.value = id;
    this.#show();
    requestAnimationFrame(() => setTimeout(() => performance.mark("chat:switch-painted")));
  }

  /** A conversation's stored messages, as fetched. */
  load(id: string, messages: Parameters<typeof conversation.fromHistory>[0]): void {
    const held = this.#threads.of(id);
    this.#set(id, { ...held, messages: conversation.fromHistory(messages) });
  }

  /** Shows `id` (already loaded) without fetching. */
  show(id: string): void {
    this.current.value = id;
    this.#show();
  }

  /** A new conversation; the empty one shown already will do. */
  async newChat(): Promise<void> {
    if (!this.#shown().messages.length) {
      this.sidebar.open.value = false;
      return;
    }
    const c = await this.sidebar.create();
    if (!c) return;
    this.#threads.set(c.id, conversation.newConversation());
    await this.open(c.id);
  }

  /** Takes back the last delete, and shows that conversation again. */
  undoDelete(): void {
    const c = this.sidebar.undo();
    if (c) this.open(c.id);
  }

  /** The conversation left the list: if it was shown, show the most recent other one. */
  gone(id: string): void {
    this.#threads.delete(id);
    if (id !== this.current.value) return;
    this.current.value = "";
    this.open(this.sidebar.conversations.value[0]?.id ?? DEFAULT_CONVERSATION);
  }

  /** The conversation shown, as Markdown, from what the page holds. */
  async download(): Promise<void> {
    const { downloadMarkdown } = await import("./download.ts");
    downloadMarkdown(this.title.value, this.messages.value);
  }

  /** A reply-event frame, applied to its conversation; what the store must still do. */
  receive(frame: ServerFrame): Outcome | null {
    const id = this.#threads.owner(frame, this.current.value);
    if (frame.type === "user") {
      this.sidebar.touched(id, frame.message.timestamp, frame.regenerate ? 0 : 1);
    } else if (frame.type === "done" && frame.message.content) {
      this.sidebar.touched(id, frame.message.timestamp, 1);
    }
    const state = this.#threads.get(id);
    if (!state) return null;
    const out = receive(state, frame);
    this.#set(id, out.state);
    return id === this.current.value ? out : { ...out, announce: undefined };
  }

  /** What a socket that just opened sends. */
  reopen(point: ReplayPoint): ClientFrame[] {
    return this.#threads.reopen(point);
  }

  stopSent(turn: string): void {
    const id = this.#threads.ownerOfTurn(turn, this.current.value);
    this.#threads.update(id, (s) => ({ ...s, outbox: stopSent(s.outbox) }));
  }

  expire(): void {
    this.#threads.expireAll();
    this.#show();
  }

  reset(): void {
    this.#threads.clear();
    this.current.value = DEFAULT_CONVERSATION;
    this.#show();
  }

  /** Where a turn goes: the conversation shown (the default one unnamed, as the seed sends it). */
  #target(): { conversation?: string } {
    const id = this.current.value;
    return id === DEFAULT_CONVERSATION ? {} : { conversation: id };
  }

  #shown(): conversation.Conversation {
    return this.#threads.of(this.current.value);
  }

  #change(next: conversation.Conversation): void {
    this.#set(this.current.value, next);
  }

  /** Keeps a conversation's new state; shows it when it is the current one. */
  #set(id: string, next: conversation.Conversation): void {
    this.#threads.set(id, next);
    if (id === this.current.value) this.#show();
  }

  #show(): void {
    const s = this.#shown();
    batch(() => {
      this.messages.value = s.messages;
      this.activeTurn.value = s.activeTurn;
      this.stopping.value = s.stopping;
    });
  }
}

// The conversation list's signals and actions: loaded over HTTP, kept current by every tab's
// frames, filtered by title, and deletes that can be undone for a few seconds before they reach
// the server. The list rules are pure (conversation_list.ts); this only wires them.
import { computed, signal } from "@preact/signals";
import type { ConversationDeletedFrame, ConversationFrame } from "../../lib/contract/frames.ts";
import {
  createConversation,
  deleteConversation,
  fetchConversations,
  renameConversation,
} from "./api.ts";
import * as list from "./conversation_list.ts";

/** How long a delete can be undone. */
export const UNDO_MS = 6000;

export interface SidebarHooks {
  token(): string;
  /** Something failed: tell the person. */
  notify(text: string): void;
  /** A conversation left the list (deleted here or in another tab). */
  gone(id: string): void;
}

export class Sidebar {
  readonly conversations = signal<list.ConversationInfo[]>([]);
  readonly filter = signal("");
  /** Below 768 px the list is a drawer. */
  readonly open = signal(false);
  readonly pending = signal<list.PendingDelete | null>(null);
  readonly shown = computed(() => list.filterByTitle(this.conversations.value, this.filter.value));
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly hooks: SidebarHooks) {}

  async load(): Promise<void> {
    const all = await fetchConversations(this.hooks.token());
    const hidden = this.pending.value?.conversation.id;
    this.conversations.value = list.sortConversations(all.filter((c) => c.id !== hidden));
  }

  reset(): void {
    clearTimeout(this.#timer);
    this.pending.value = null;
    this.conversations.value = [];
    this.filter.value = "";
  }

  find(id: string): list.ConversationInfo | undefined {
    return this.conversations.value.find((c) => c.id === id);
  }

  apply(frame: ConversationFrame | ConversationDeletedFrame): void {
    if (frame.type === "conversation") {
      // One waiting for its delete stays hidden.
      if (this.pending.value?.conversation.id === frame.conversation.id) return;
      this.conversations.value = list.upsert(this.conversations.value, frame.conversation);
      return;
    }
    if (this.pending.value?.conversation.id === frame.id) {
      clearTimeout(this.#timer);
      this.pending.value = null;
    }
    if (!this.find(frame.id)) return;
    this.conversations.value = list.without(this.conversations.value, frame.id);
    this.hooks.gone(frame.id);
  }

  /** A message came or went in conversation `id` at `at`. */
  touched(id: string, at: string, added: number): void {
    this.conversations.value = list.touch(this.conversations.value, id, at, added);
  }

  async create(): Promise<list.ConversationInfo | null> {
    try {
      const c = await createConversation(this.hooks.token());
      this.conversations.value = list.upsert(this.conversations.value, c);
      return c;
    } catch (e) {
      this.hooks.notify((e as Error).message);
      return null;
    }
  }

  async rename(id: string, title: string): Promise<void> {
    const before = this.conversations.value;
    const c = this.find(id);
    if (!c || !title.trim() || title.trim() === c.title) return;
    this.conversations.value = list.upsert(before, { ...c, title: title.trim() });
    try {
      this.conversations.value = list.upsert(
        this.conversations.value,
        await renameConversation(this.hooks.token(), id, title.trim()),
      );
    } catch (e) {
      this.conversations.value = before;
      this.hooks.notify((e as Error).message);
    }
  }

  /** Hides it at once; it is deleted for real unless undone within UNDO_MS. */
  remove(id: string): void {
    this.commit();
    const hidden = list.hideForUndo(this.conversations.value, id);
    if (!hidden) return;
    this.conversations.value = hidden.list;
    this.pending.value = hidden.pending;
    this.hooks.gone(id);
    this.#timer = setTimeout(() => this.commit(), UNDO_MS);
  }

  undo(): list.ConversationInfo | null {
    const pending = this.pending.value;
    if (!pending) return null;
    clearTimeout(this.#timer);
    this.pending.value = null;
    this.conversations.value = list.undoDelete(this.conversations.value, pending);
    return pending.conversation;
  }

  /** Sends a pending delete now (its undo time is over, or another delete starts). */
  commit(): void {
    const pending = this.pending.value;
    clearTimeout(this.#timer);
    if (!pending) return;
    this.pending.value = null;
    const id = pending.conversation.id;
    deleteConversation(this.hooks.token(), id).catch((e: Error) => {
      if ((e as { code?: string }).code === "conversation_not_found") return;
      this.conversations.value = list.undoDelete(this.conversations.value, pending);
      this.hooks.notify(e.message);
    });
  }
}

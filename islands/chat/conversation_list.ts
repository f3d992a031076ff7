// The sidebar's list as plain data: sorted most recently updated first, kept in step with frames
// from every tab, filtered by title, and a delete that can be undone for a few seconds. Pure
// functions, unit-tested without signals.
import type { Conversation } from "../../lib/contract/frames.ts";
import { UNTITLED } from "../../lib/contract/conversations.ts";

export type ConversationInfo = Conversation;

/** Most recently updated first; among equals, the newest first. */
export function sortConversations(list: readonly ConversationInfo[]): ConversationInfo[] {
  return [...list].sort((a, b) =>
    b.updated_at.localeCompare(a.updated_at) || b.created_at.localeCompare(a.created_at)
  );
}

/** Adds or replaces a conversation (a `conversation` frame, a create, a rename). */
export function upsert(list: readonly ConversationInfo[], c: ConversationInfo): ConversationInfo[] {
  return sortConversations([...list.filter((x) => x.id !== c.id), c]);
}

export function without(list: readonly ConversationInfo[], id: string): ConversationInfo[] {
  return list.filter((c) => c.id !== id);
}

/**
 * A message was added (`added` 1) or the conversation otherwise changed at `at`: it moves up. An
 * unknown id changes nothing (its `conversation` frame will bring it).
 */
export function touch(
  list: readonly ConversationInfo[],
  id: string,
  at: string,
  added = 0,
): ConversationInfo[] {
  const c = list.find((x) => x.id === id);
  if (!c) return [...list];
  const updated_at = at > c.updated_at ? at : c.updated_at;
  return upsert(list, { ...c, updated_at, message_count: c.message_count + added });
}

/** What a conversation is called in the list. */
export const displayTitle = (c: Pick<ConversationInfo, "title">): string => c.title || UNTITLED;

/** Titles containing every word of the query, ignoring case and accents. */
export function filterByTitle(
  list: readonly ConversationInfo[],
  query: string,
): ConversationInfo[] {
  const fold = (s: string) => s.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (!words.length) return [...list];
  return list.filter((c) => {
    const title = fold(displayTitle(c));
    return words.every((w) => title.includes(w));
  });
}

/** A delete the user may still undo: the conversation is hidden, not yet gone. */
export interface PendingDelete {
  readonly conversation: ConversationInfo;
}

export function hideForUndo(
  list: readonly ConversationInfo[],
  id: string,
): { list: ConversationInfo[]; pending: PendingDelete } | null {
  const conversation = list.find((c) => c.id === id);
  if (!conversation) return null;
  return { list: without(list, id), pending: { conversation } };
}

export function undoDelete(
  list: readonly ConversationInfo[],
  pending: PendingDelete,
): ConversationInfo[] {
  return upsert(list, pending.conversation);
}

/** Where to go when the conversation shown goes away: the most recent other one, if any. */
export function nextAfter(list: readonly ConversationInfo[], gone: string): string | null {
  return list.find((c) => c.id !== gone)?.id ?? null;
}

// The conversations: a new chat, a title filter and the list, most recently updated first. A
// column on wide screens; a drawer below 768 px, opened from the top bar.
import type { Conversation } from "../lib/contract/frames.ts";
import { ConversationItem } from "./ConversationItem.tsx";
import { Icon } from "./Icon.tsx";

export interface SidebarProps {
  conversations: Conversation[];
  /** How many there are before filtering. */
  total: number;
  current: string;
  filter: string;
  open: boolean;
  onFilter(text: string): void;
  onOpen(id: string): void;
  onNew(): void;
  onRename(id: string, title: string): void;
  onDelete(id: string): void;
  onClose(): void;
}

export function Sidebar(props: SidebarProps) {
  const { conversations, total, current, filter, open } = props;
  return (
    <>
      <aside
        class="sidebar"
        id="sidebar"
        data-open={open ? "true" : "false"}
        aria-label="Conversations"
        onKeyDown={(e) => e.key === "Escape" && open && props.onClose()}
      >
        <button type="button" class="new-chat" onClick={props.onNew}>
          <Icon name="plus" /> New chat
        </button>
        <label class="sr-only" for="conversation-filter">Filter conversations by title</label>
        <input
          id="conversation-filter"
          class="conv-filter"
          type="search"
          placeholder="Search titles…"
          value={filter}
          onInput={(e) => props.onFilter((e.target as HTMLInputElement).value)}
        />
        <ul class="conv-list">
          {conversations.map((c) => (
            <ConversationItem
              key={c.id}
              conversation={c}
              current={c.id === current}
              onOpen={() => props.onOpen(c.id)}
              onRename={(title) => props.onRename(c.id, title)}
              onDelete={() => props.onDelete(c.id)}
            />
          ))}
        </ul>
        {conversations.length === 0 && (
          <p class="conv-empty">
            {total ? "No conversation has that in its title." : "Your conversations show here."}
          </p>
        )}
      </aside>
      {open && <div class="scrim" aria-hidden="true" onClick={props.onClose} />}
    </>
  );
}

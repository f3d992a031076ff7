// One conversation in the sidebar: open it, rename it in place (Enter saves, Escape cancels), or
// delete it (undoable for a few seconds, see UndoBar).
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Conversation } from "../lib/contract/frames.ts";
import { MAX_TITLE_CHARS, UNTITLED } from "../lib/contract/conversations.ts";
import { Icon } from "./Icon.tsx";

export interface ConversationItemProps {
  conversation: Conversation;
  current: boolean;
  onOpen(): void;
  onRename(title: string): void;
  onDelete(): void;
}

export function ConversationItem(
  { conversation: c, current, onOpen, onRename, onDelete }: ConversationItemProps,
) {
  const [renaming, setRenaming] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  // At once, so typing that starts right away replaces the old title rather than joining it.
  useLayoutEffect(() => {
    if (renaming) input.current?.select();
  }, [renaming]);
  const title = c.title || UNTITLED;

  if (renaming) {
    const done = (save: boolean) => {
      if (save) onRename(input.current?.value ?? "");
      setRenaming(false);
    };
    return (
      <li class="conv conv-renaming">
        <label class="sr-only" for={`rename-${c.id}`}>New title</label>
        <input
          id={`rename-${c.id}`}
          ref={input}
          class="conv-rename"
          defaultValue={c.title}
          maxLength={MAX_TITLE_CHARS}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              done(true);
            } else if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              done(false);
            }
          }}
          onBlur={() => done(true)}
        />
      </li>
    );
  }
  return (
    <li class={current ? "conv conv-current" : "conv"} data-id={c.id}>
      <button
        type="button"
        class="conv-open"
        aria-current={current ? "page" : undefined}
        onClick={onOpen}
        title={title}
      >
        {title}
      </button>
      <div class="conv-actions">
        <button
          type="button"
          class="icon-button"
          aria-label={`Rename “${title}”`}
          onClick={() => setRenaming(true)}
        >
          <Icon name="pencil" />
        </button>
        <button
          type="button"
          class="icon-button"
          aria-label={`Delete “${title}”`}
          onClick={onDelete}
        >
          <Icon name="trash" />
        </button>
      </div>
    </li>
  );
}

// One message. What people write is shown as plain text; replies as sanitized Markdown. Under it,
// its actions (copy, edit, regenerate, time); a question can be edited in place.
import { useState } from "preact/hooks";
import type { UiMessage } from "./types.ts";
import { extrasModule } from "./extras_loader.ts";
import { Markdown } from "./Markdown.tsx";
import { TypingIndicator } from "./TypingIndicator.tsx";

export interface MessageBubbleProps {
  message: UiMessage;
  onRetry(turn: string): void;
  retryDisabled: boolean;
  /** Present when this question may be edited now. */
  onEdit?(text: string): boolean;
  /** Present on the last reply, when it may be answered again now. */
  onRegenerate?(): void;
  maxChars: number;
}

export function MessageBubble(
  { message: m, onRetry, retryDisabled, onEdit, onRegenerate, maxChars }: MessageBubbleProps,
) {
  const [editing, setEditing] = useState(false);
  const mine = m.role === "user";
  const streaming = m.state === "streaming";
  const settled = m.state !== "streaming" && m.state !== "sending";
  // Editing and the actions arrive with the extra views, a moment after the chat is usable.
  const extras = extrasModule.value;
  return (
    <li
      class={`msg msg-${m.role} msg-${m.state}`}
      data-role={m.role}
      data-state={m.state}
      aria-busy={streaming ? "true" : undefined}
    >
      <span class="sr-only">{mine ? "You said:" : "Assistant:"}</span>
      {editing && onEdit && extras
        ? (
          <extras.EditMessage
            initial={m.content}
            maxChars={maxChars}
            onCancel={() => setEditing(false)}
            onSave={(text) => {
              const sent = onEdit(text);
              if (sent) setEditing(false);
              return sent;
            }}
          />
        )
        : (
          <div class="bubble">
            {mine
              ? <p class="plain">{m.content}</p>
              : m.content
              ? <Markdown text={m.content} streaming={streaming} />
              : streaming
              ? <TypingIndicator />
              : null}
          </div>
        )}
      {m.state === "sending" && <p class="note note-pending">Sending…</p>}
      {m.state === "stopped" && <p class="note">Stopped</p>}
      {m.state === "failed" && (
        <p class="note note-error">
          {m.error ?? "Something went wrong."}
          {mine && m.turn && (
            <button
              type="button"
              class="link-button"
              disabled={retryDisabled}
              onClick={() => onRetry(m.turn!)}
            >
              Retry
            </button>
          )}
        </p>
      )}
      {settled && !editing && m.content && extras && (
        <extras.MessageActions
          message={m}
          onEdit={onEdit && (() => setEditing(true))}
          onRegenerate={onRegenerate}
        />
      )}
    </li>
  );
}

// One message. What people write is shown as plain text; replies as sanitized Markdown.
import type { UiMessage } from "./types.ts";
import { Markdown } from "./Markdown.tsx";
import { TypingIndicator } from "./TypingIndicator.tsx";

export interface MessageBubbleProps {
  message: UiMessage;
  onRetry(turn: string): void;
  retryDisabled: boolean;
}

export function MessageBubble({ message: m, onRetry, retryDisabled }: MessageBubbleProps) {
  const mine = m.role === "user";
  const streaming = m.state === "streaming";
  return (
    <li
      class={`msg msg-${m.role} msg-${m.state}`}
      data-role={m.role}
      data-state={m.state}
      aria-busy={streaming ? "true" : undefined}
    >
      <span class="sr-only">{mine ? "You said:" : "Assistant:"}</span>
      <div class="bubble">
        {mine
          ? <p class="plain">{m.content}</p>
          : m.content
          ? <Markdown text={m.content} />
          : streaming
          ? <TypingIndicator />
          : null}
      </div>
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
    </li>
  );
}

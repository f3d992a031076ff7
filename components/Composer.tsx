// Where a message is written. Enter sends, Shift+Enter starts a new line, the box grows with its
// text, and while a reply is coming the button stops it instead.
import { useEffect, useRef, useState } from "preact/hooks";

export interface ComposerProps {
  busy: boolean;
  stopping: boolean;
  maxChars: number;
  onSend(text: string): boolean;
  onStop(): void;
}

/** The counter appears once a message gets close to the limit. */
const COUNTER_FROM = 0.8;

export function Composer({ busy, stopping, maxChars, onSend, onStop }: ComposerProps) {
  const [text, setText] = useState("");
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => input.current?.focus(), []);

  // Grow with the text (up to the CSS max-height, then scroll).
  useEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${el.scrollHeight}px`;
  }, [text]);

  const submit = () => {
    if (busy) return;
    if (onSend(text)) setText("");
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
    e.preventDefault();
    submit();
  };

  const tooLong = text.length > maxChars;
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        busy ? onStop() : submit();
      }}
    >
      <div class="composer-box">
        <label for="composer-input" class="sr-only">Message</label>
        <textarea
          id="composer-input"
          ref={input}
          rows={1}
          value={text}
          placeholder="Write a message…"
          aria-describedby="composer-hint"
          aria-invalid={tooLong ? "true" : undefined}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          onKeyDown={onKeyDown}
        />
        {busy
          ? (
            <button type="submit" class="send stop" disabled={stopping}>
              <span aria-hidden="true" class="stop-square" />
              {stopping ? "Stopping…" : "Stop"}
            </button>
          )
          : (
            <button type="submit" class="send" disabled={!text.trim() || tooLong}>
              Send
            </button>
          )}
      </div>
      <p id="composer-hint" class="hint">
        {text.length >= maxChars * COUNTER_FROM && (
          <span class={tooLong ? "count count-over" : "count"}>
            {text.length} / {maxChars}
          </span>
        )}
        <span class="keys">Enter to send · Shift+Enter for a new line</span>
      </p>
    </form>
  );
}

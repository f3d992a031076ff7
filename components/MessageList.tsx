// The conversation. It follows new text while the reader is at the bottom, and stays put (offering
// a jump back) once they scroll up to read.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { UiMessage } from "./types.ts";
import { MessageBubble } from "./MessageBubble.tsx";

/** Within this many pixels of the bottom counts as "at the bottom". */
const STICK_PX = 48;
/**
 * A long conversation opened (the list is mounted per conversation) paints its newest messages
 * first, which is all the screen shows, and the older ones a frame later.
 */
const FIRST_PAINT = 16;

export interface MessageListProps {
  messages: UiMessage[];
  onRetry(turn: string): void;
  /** Replaces question `message` with `text`; false when it could not be sent. */
  onEdit(message: string, text: string): boolean;
  onRegenerate(): void;
  maxChars: number;
  busy: boolean;
  /** The invitation to start, when there are no messages yet (not once the session is over). */
  showEmpty: boolean;
}

export function MessageList(
  { messages, onRetry, onEdit, onRegenerate, maxChars, busy, showEmpty }: MessageListProps,
) {
  const scroller = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const lastUserKey = useRef<string | undefined>(undefined);
  const [behind, setBehind] = useState(false);
  const [limit, setLimit] = useState(() =>
    messages.length > FIRST_PAINT * 2 ? FIRST_PAINT : Infinity
  );
  useEffect(() => {
    if (limit === Infinity) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => timer = setTimeout(() => setLimit(Infinity)));
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [limit]);
  const skipped = Math.max(0, messages.length - limit);

  const toBottom = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  };

  // A wheel or key that moves up says "stop following" at once; waiting for the scroll event
  // would let text arriving in between pull the view back down.
  const leaveBottom = () => {
    if ((scroller.current?.scrollTop ?? 0) > 0) stick.current = false;
  };
  const onWheel = (e: WheelEvent) => e.deltaY < 0 && leaveBottom();
  const onKeyDown = (e: KeyboardEvent) =>
    ["ArrowUp", "PageUp", "Home"].includes(e.key) && leaveBottom();

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
    if (stick.current) setBehind(false);
  };

  useLayoutEffect(() => {
    // Sending a message always brings the conversation back to its end.
    const latestUser = messages.findLast((m) => m.role === "user")?.key;
    if (latestUser !== lastUserKey.current) stick.current = true;
    lastUserKey.current = latestUser;
    if (stick.current) toBottom();
    else setBehind(true);
  }, [messages]);

  // Heights also change without new messages: Markdown arriving, code highlighted, a resize.
  useEffect(() => {
    const observer = new ResizeObserver(() => stick.current && toBottom());
    if (content.current) observer.observe(content.current);
    if (scroller.current) observer.observe(scroller.current);
    return () => observer.disconnect();
  }, []);

  return (
    <div
      class="scroller"
      ref={scroller}
      onScroll={onScroll}
      onWheel={onWheel}
      onKeyDown={onKeyDown}
      onTouchMove={leaveBottom}
    >
      {messages.length === 0 && showEmpty && (
        <div class="empty">
          <p class="empty-title">Start the conversation</p>
          <p>Ask a question, draft an email, or get some code explained.</p>
        </div>
      )}
      <ol class="messages" ref={content} aria-label="Conversation" hidden={messages.length === 0}>
        {(skipped ? messages.slice(skipped) : messages).map((m, at) => {
          const i = at + skipped;
          return (
            <MessageBubble
              key={m.key}
              message={m}
              onRetry={onRetry}
              retryDisabled={busy}
              maxChars={maxChars}
              onEdit={!busy && m.role === "user" && m.id
                ? (text) => onEdit(m.id!, text)
                : undefined}
              onRegenerate={!busy && m.role === "assistant" && i === messages.length - 1
                ? onRegenerate
                : undefined}
            />
          );
        })}
      </ol>
      {behind && (
        <button
          type="button"
          class="jump"
          onClick={() => {
            stick.current = true;
            setBehind(false);
            toBottom();
          }}
        >
          ↓ Jump to latest
        </button>
      )}
    </div>
  );
}

// A question being edited in place: Enter (or Save) sends the new text, which replaces it and
// everything after it; Escape (or Cancel) leaves it as it was.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

export interface EditMessageProps {
  initial: string;
  maxChars: number;
  onSave(text: string): boolean;
  onCancel(): void;
}

export function EditMessage({ initial, maxChars, onSave, onCancel }: EditMessageProps) {
  const [text, setText] = useState(initial);
  const box = useRef<HTMLTextAreaElement>(null);
  // Before anything can be typed: a caret placed later would land in the middle of typing.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${el.scrollHeight}px`;
  }, [text]);
  const invalid = !text.trim() || text.length > maxChars;
  const save = () => !invalid && onSave(text) && undefined;
  return (
    <form
      class="edit-message"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <label class="sr-only" for="edit-message-input">Your question, edited</label>
      <textarea
        id="edit-message-input"
        ref={box}
        rows={1}
        value={text}
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            // Escape here cancels the edit; it must not also stop a reply.
            e.preventDefault();
            e.stopPropagation();
            onCancel();
          } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            save();
          }
        }}
      />
      <div class="edit-actions">
        <button type="button" class="secondary small" onClick={onCancel}>Cancel</button>
        <button type="submit" class="primary small" disabled={invalid}>Save & send</button>
      </div>
    </form>
  );
}

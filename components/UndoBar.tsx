// Said after a delete: the conversation goes for good unless Undo is pressed in time.
import { UNTITLED } from "../lib/contract/conversations.ts";

export function UndoBar({ title, onUndo }: { title: string; onUndo(): void }) {
  return (
    <div class="undo-bar" role="status">
      <p>Deleted “{title || UNTITLED}”.</p>
      <button type="button" class="link-button" onClick={onUndo}>Undo</button>
    </div>
  );
}

// Under a message: copy it, edit it (questions), answer it again (the last reply), and when it was
// said. Shown on hover or keyboard focus; always on touch screens (see the stylesheet).
import { useState } from "preact/hooks";
import type { UiMessage } from "./types.ts";
import { copyText } from "./clipboard.ts";

export interface MessageActionsProps {
  message: UiMessage;
  onEdit?(): void;
  onRegenerate?(): void;
}

const COPIED_MS = 1500;

// Formatters made once, when this chunk loads (after the page is interactive): the first one a
// page makes costs tens of milliseconds, and toLocale…String would make one per call. The full
// date is only worked out when the pointer asks for it.
const short = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
let full: Intl.DateTimeFormat | null = null;

function shortTime(timestamp: string): string | null {
  const d = new Date(timestamp);
  return Number.isNaN(d.getTime()) ? null : short.format(d);
}

function addFullDate(e: Event): void {
  const el = e.currentTarget as HTMLTimeElement;
  if (el.title) return;
  full ??= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  el.title = full.format(new Date(el.dateTime));
}

export function MessageActions({ message: m, onEdit, onRegenerate }: MessageActionsProps) {
  const [copied, setCopied] = useState<string | null>(null);
  const time = m.timestamp ? shortTime(m.timestamp) : null;
  const what = m.role === "user" ? "question" : "reply";
  const copy = async () => {
    setCopied(await copyText(m.content) ? "Copied" : "Copy failed");
    setTimeout(() => setCopied(null), COPIED_MS);
  };
  return (
    <div class="msg-actions">
      {time && (
        <time
          class="msg-time"
          dateTime={m.timestamp}
          onPointerEnter={addFullDate}
        >
          {time}
        </time>
      )}
      <button type="button" class="action" onClick={copy} aria-label={`Copy this ${what}`}>
        {copied ?? "Copy"}
      </button>
      {onEdit && (
        <button type="button" class="action" onClick={onEdit} aria-label="Edit this question">
          Edit
        </button>
      )}
      {onRegenerate && (
        <button
          type="button"
          class="action"
          onClick={onRegenerate}
          aria-label="Regenerate this reply"
        >
          Regenerate
        </button>
      )}
    </div>
  );
}

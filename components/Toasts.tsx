// Short notices for errors that have no better place; read out by screen readers as they appear.
import type { Toast } from "./types.ts";

export function Toasts({ toasts, onDismiss }: { toasts: Toast[]; onDismiss(id: number): void }) {
  return (
    <div class="toasts" role="alert" aria-live="assertive">
      {toasts.map((t) => (
        <div class="toast" key={t.id}>
          <p>{t.text}</p>
          <button
            type="button"
            class="toast-close"
            aria-label="Dismiss notice"
            onClick={() => onDismiss(t.id)}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

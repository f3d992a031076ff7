// Shows how the chat's connection is doing. The countdown is hidden from screen readers so that
// only changes of state are announced, not every second.
import { useEffect, useState } from "preact/hooks";
import type { LinkState } from "./types.ts";

export interface ConnectionBadgeProps {
  state: LinkState;
  onRetry(): void;
}

function label(state: LinkState): { text: string; tone: "ok" | "busy" | "bad" } {
  switch (state.kind) {
    case "open":
      return { text: "Connected", tone: "ok" };
    case "connecting":
      return { text: state.attempt ? "Reconnecting…" : "Connecting…", tone: "busy" };
    case "waiting":
      return { text: "Connection lost", tone: "bad" };
    case "offline":
      return { text: "Offline", tone: "bad" };
    case "expired":
      return { text: "Session ended", tone: "bad" };
    case "closed":
      return { text: "Not connected", tone: "busy" };
  }
}

function useSecondsUntil(at: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (at === null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [at]);
  return at === null ? 0 : Math.max(0, Math.ceil((at - now) / 1000));
}

export function ConnectionBadge({ state, onRetry }: ConnectionBadgeProps) {
  const { text, tone } = label(state);
  const seconds = useSecondsUntil(state.kind === "waiting" ? state.retryAt : null);
  return (
    <div class={`badge badge-${tone}`} data-state={state.kind}>
      <span class="badge-dot" aria-hidden="true" />
      <span role="status" class="badge-text">{text}</span>
      {state.kind === "waiting" && (
        <>
          <span class="badge-wait" aria-hidden="true">· retrying in {seconds}s</span>
          <button type="button" class="link-button" onClick={onRetry}>Retry now</button>
        </>
      )}
    </div>
  );
}

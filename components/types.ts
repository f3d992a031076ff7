// What the views display. The types live with the views so that islands import them from here and
// no component has to reach up into an island.

export interface UiMessage {
  /** Stable render key: the turn id for user messages, `reply:<turn>` for replies. */
  key: string;
  /** The server's message id, once known. */
  id?: string;
  role: "user" | "assistant";
  content: string;
  /** The turn this message asks (user) or answers (assistant). */
  turn?: string;
  state: "done" | "sending" | "streaming" | "stopped" | "failed";
  error?: string;
  timestamp?: string;
}

export interface Toast {
  id: number;
  text: string;
}

export type LinkState =
  | { kind: "connecting"; attempt: number }
  | { kind: "open" }
  | { kind: "waiting"; retryAt: number; attempt: number }
  | { kind: "offline" }
  | { kind: "expired"; reason: string }
  | { kind: "closed" };

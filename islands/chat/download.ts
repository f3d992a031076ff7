// Saving a conversation from what the page holds: the expiry screen's download works even though
// the server has forgotten the session.
import type { Message } from "../../lib/contract/frames.ts";
import { conversationMarkdown, exportFileName } from "../../lib/contract/conversations.ts";
import type { UiMessage } from "../../components/types.ts";

/** The shown messages as the contract's Message (unsent or streaming ones included as they are). */
export function shownMessages(list: readonly UiMessage[]): Message[] {
  return list.filter((m) => m.content).map((m) => ({
    id: m.id ?? m.key,
    role: m.role,
    content: m.content,
    timestamp: m.timestamp ?? "",
    ...(m.state === "stopped" ? { stopped: true } : {}),
    ...(m.state === "failed" && m.error ? { error: { code: "failed", message: m.error } } : {}),
  }));
}

export function downloadMarkdown(title: string, list: readonly UiMessage[]): void {
  const text = conversationMarkdown(title, shownMessages(list));
  const url = URL.createObjectURL(new Blob([text], { type: "text/markdown;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = exportFileName(title, "md");
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

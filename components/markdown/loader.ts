// Starts fetching the Markdown renderer early and tells components when it is there; until then
// replies show as plain text.
import { signal } from "@preact/signals";

export type MarkdownModule = typeof import("./render.ts");

export const markdownModule = signal<MarkdownModule | null>(null);
let loading: Promise<void> | null = null;

export function loadMarkdown(): Promise<void> {
  loading ??= import("./render.ts").then(
    (m) => {
      markdownModule.value = m;
    },
    (e) => {
      loading = null; // a later render tries again
      console.error("Markdown renderer failed to load", e);
    },
  );
  return loading;
}

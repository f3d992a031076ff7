// Fetches the extra views (extras.ts) once the chat is interactive and tells components when they
// are there, as the Markdown loader does: the page works without them a moment longer.
import { signal } from "@preact/signals";

export type ExtrasModule = typeof import("./extras.ts");

export const extrasModule = signal<ExtrasModule | null>(null);
let loading: Promise<void> | null = null;

export function loadExtras(): Promise<void> {
  loading ??= import("./extras.ts").then(
    (m) => {
      extrasModule.value = m;
    },
    (e) => {
      loading = null; // a later render tries again
      console.error("Chat views failed to load", e);
    },
  );
  return loading;
}

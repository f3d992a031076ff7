// An assistant reply as sanitized Markdown. The renderer arrives in a lazily loaded chunk; until
// then the text shows as plain text. Preact never sees the rendered nodes: they go in through a ref.
import { useLayoutEffect, useRef } from "preact/hooks";
import { markdownModule } from "./markdown/loader.ts";

const COPIED_MS = 1500;

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false; // no clipboard permission (or an insecure context)
  }
}

async function onCopyClick(event: MouseEvent) {
  const button = (event.target as Element).closest<HTMLButtonElement>("button[data-copy]");
  const code = button?.closest(".code-block")?.querySelector("code");
  if (!button || !code) return;
  const ok = await copyText(code.textContent ?? "");
  button.textContent = ok ? "Copied" : "Copy failed";
  setTimeout(() => (button.textContent = "Copy"), COPIED_MS);
}

export function Markdown({ text }: { text: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const renderer = markdownModule.value;
  useLayoutEffect(() => {
    if (renderer && ref.current) ref.current.replaceChildren(renderer.renderMarkdown(text));
  }, [text, renderer]);
  if (!renderer) return <div key="plain" class="md md-plain">{text}</div>;
  return <div key="md" class="md" ref={ref} onClick={onCopyClick} />;
}

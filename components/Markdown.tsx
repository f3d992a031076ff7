// An assistant reply as sanitized Markdown. The renderer arrives in a lazily loaded chunk; until
// then the text shows as plain text. Preact never sees the rendered nodes: they go in through a
// ref, block by block, so the blocks a streaming reply has finished are never rebuilt (a focused
// Copy button or a selection in them stays).
import { useLayoutEffect, useRef } from "preact/hooks";
import { markdownModule } from "./markdown/loader.ts";
import { copyText } from "./clipboard.ts";

const COPIED_MS = 1500;

async function onCopyClick(event: MouseEvent) {
  const button = (event.target as Element).closest<HTMLButtonElement>("button[data-copy]");
  const code = button?.closest(".code-block")?.querySelector("code");
  if (!button || !code) return;
  const ok = await copyText(code.textContent ?? "");
  button.textContent = ok ? "Copied" : "Copy failed";
  setTimeout(() => (button.textContent = "Copy"), COPIED_MS);
}

type Blocks = InstanceType<NonNullable<typeof markdownModule.value>["BlockRenderer"]>;

/** `streaming`: the text still grows, so it is rendered block by block; else in one pass. */
export function Markdown({ text, streaming = false }: { text: string; streaming?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  const blocks = useRef<Blocks | null>(null);
  const renderer = markdownModule.value;
  useLayoutEffect(() => {
    if (!renderer || !ref.current) return;
    // A finished reply (a whole history) is one sanitizing pass; one that streamed keeps its blocks.
    if (!streaming && !blocks.current) {
      ref.current.replaceChildren(renderer.renderMarkdown(text));
      return;
    }
    blocks.current ??= new renderer.BlockRenderer(ref.current);
    blocks.current.update(text);
  }, [text, renderer, streaming]);
  if (!renderer) return <div key="plain" class="md md-plain">{text}</div>;
  return <div key="md" class="md" ref={ref} onClick={onCopyClick} />;
}

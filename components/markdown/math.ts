// LaTeX in replies ($…$ inline, $$…$$ displayed), typeset by KaTeX: a chunk of its own, loaded
// only when a reply has math. katex.render builds DOM nodes and sets their styles through the
// CSSOM, which the Content-Security-Policy allows (no inline style attributes are parsed); its
// stylesheet and fonts are served from our origin (tasks/build.ts copies them next to this chunk).
import katex from "katex";

let styled = false;

/** KaTeX's stylesheet, once, from beside this chunk (static/build/katex/). */
function ensureStylesheet(): void {
  if (styled) return;
  styled = true;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./katex/katex.min.css", import.meta.url).href;
  document.head.append(link);
}

/** Typesets every `.math[data-tex]` element given; bad LaTeX shows as the source, in red. */
export function typeset(elements: Iterable<Element>): void {
  ensureStylesheet();
  for (const el of elements) {
    const tex = el.getAttribute("data-tex");
    if (tex === null || el.hasAttribute("data-typeset")) continue;
    katex.render(tex, el as HTMLElement, {
      displayMode: el.classList.contains("math-display"),
      throwOnError: false,
      // No \href, \url, \htmlClass…: what a model writes stays text.
      trust: false,
      maxExpand: 1000,
      maxSize: 50,
    });
    el.setAttribute("data-typeset", "");
  }
}

// Markdown for assistant replies, loaded lazily (it is most of the page's JavaScript). Raw HTML in
// the Markdown is shown as text, never parsed; DOMPurify then strips anything else unsafe (event
// handlers, javascript: links) from what marked and highlight.js produced, as a second wall.
// A streaming reply is rendered block by block: finished blocks keep their DOM nodes, so focus,
// selection and Copy buttons in them survive the next piece of text. Math goes to KaTeX (math.ts),
// loaded only when a reply has some.
import { Marked, type Token, type TokenizerAndRendererExtension, type Tokens } from "marked";
import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";

// A handful of common languages keeps this chunk small; others show unhighlighted.
const languages = { bash, javascript, json, python, sql, typescript, xml };
for (const [name, language] of Object.entries(languages)) hljs.registerLanguage(name, language);

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Guessing a language is only worth it when highlight.js is fairly sure. */
const MIN_AUTO_RELEVANCE = 5;

function highlight(code: string, lang: string): { html: string; label: string } {
  if (lang && hljs.getLanguage(lang)) {
    return {
      html: hljs.highlight(code, { language: lang, ignoreIllegals: true }).value,
      label: lang,
    };
  }
  if (!lang) {
    const guess = hljs.highlightAuto(code);
    if (guess.language && guess.relevance >= MIN_AUTO_RELEVANCE) {
      return { html: guess.value, label: guess.language };
    }
  }
  return { html: escapeHtml(code), label: lang };
}

/** `$$…$$` on lines of its own. */
const mathBlock: TokenizerAndRendererExtension = {
  name: "mathBlock",
  level: "block",
  start: (src) => src.match(/^\$\$/m)?.index,
  tokenizer(src) {
    const m = /^\$\$([\s\S]+?)\$\$[ \t]*(?:\n+|$)/.exec(src);
    if (m) return { type: "mathBlock", raw: m[0], text: m[1].trim() };
  },
  renderer: (t) =>
    `<div class="math math-display" data-tex="${escapeHtml(t.text)}">${escapeHtml(t.raw)}</div>`,
};

/** `$…$` (no space inside the dollars, no digit after: "$5 and $6" stays money) or `$$…$$`. */
const mathInline: TokenizerAndRendererExtension = {
  name: "mathInline",
  level: "inline",
  start: (src) => src.indexOf("$") >= 0 ? src.indexOf("$") : undefined,
  tokenizer(src) {
    const display = /^\$\$(?!\$)([^\n]+?)\$\$/.exec(src);
    if (display) return { type: "mathInline", raw: display[0], text: display[1], display: true };
    const m = /^\$(?![\s$])((?:\\[\s\S]|[^\\$\n])+?)(?<![\s\\])\$(?!\d)/.exec(src);
    if (m) return { type: "mathInline", raw: m[0], text: m[1], display: false };
  },
  renderer: (t) =>
    `<span class="math${t.display ? " math-display" : ""}" data-tex="${escapeHtml(t.text)}">${
      escapeHtml(t.raw)
    }</span>`,
};

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  extensions: [mathBlock, mathInline],
  renderer: {
    html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
    // Remote images in a reply could track the reader: show them as links instead.
    image: ({ href, text }: Tokens.Image) =>
      `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
    code: ({ text, lang }: Tokens.Code) => {
      const { html, label } = highlight(text, (lang ?? "").trim().split(/\s/)[0].toLowerCase());
      return `<div class="code-block"><div class="code-head"><span class="code-lang">${
        escapeHtml(label || "text")
      }</span></div><pre><code class="hljs">${html}</code></pre></div>`;
    },
  },
});

const purify = DOMPurify();
purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

const ALLOWED_TAGS = [
  "a",
  "b",
  "blockquote",
  "br",
  "code",
  "del",
  "div",
  "em",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "hr",
  "i",
  "input",
  "li",
  "ol",
  "p",
  "pre",
  "s",
  "span",
  "strong",
  "sub",
  "sup",
  "table",
  "tbody",
  "td",
  "th",
  "thead",
  "tr",
  "ul",
];

/** Markdown to a sanitized fragment, with a copy button on every code block. */
export function renderMarkdown(text: string): DocumentFragment {
  return finish(marked.parse(text) as string);
}

/**
 * Renders a reply into `container` and keeps it current as its text grows: blocks whose source is
 * unchanged keep their nodes; only the changed tail is rendered again.
 */
export class BlockRenderer {
  #blocks: { raw: string; nodes: ChildNode[] }[] = [];

  constructor(private readonly container: HTMLElement) {}

  update(text: string): void {
    const tokens: Token[] = marked.lexer(text);
    let same = 0;
    while (same < tokens.length && tokens[same].raw === this.#blocks[same]?.raw) same++;
    for (const block of this.#blocks.splice(same)) for (const node of block.nodes) node.remove();
    for (const token of tokens.slice(same)) {
      const fragment = finish(marked.parser([token]));
      const nodes = [...fragment.childNodes];
      this.container.append(fragment);
      this.#blocks.push({ raw: token.raw, nodes });
    }
  }
}

/** Sanitized HTML as a fragment, with copy buttons, scrolling tables and math. */
function finish(html: string): DocumentFragment {
  const fragment = purify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: [
      "href",
      "title",
      "class",
      "start",
      "align",
      "type",
      "checked",
      "disabled",
      "data-tex",
    ],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    // DOMPurify checks the value of any attribute not named here against the URI pattern above,
    // which would drop a table cell's `align` (and a list's `start`).
    ADD_URI_SAFE_ATTR: ["align", "start", "type", "checked", "disabled"],
    RETURN_DOM_FRAGMENT: true,
  });
  for (const head of fragment.querySelectorAll(".code-head")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.dataset.copy = "";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy code");
    head.append(button);
  }
  // Wide tables scroll sideways inside the reply instead of widening the page.
  for (const table of fragment.querySelectorAll("table")) {
    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    table.replaceWith(wrap);
    wrap.append(table);
  }
  const math = [...fragment.querySelectorAll(".math[data-tex]")];
  if (math.length) typesetLater(math);
  return fragment;
}

let mathModule: typeof import("./math.ts") | null = null;
let mathLoading: Promise<typeof import("./math.ts")> | null = null;

/** KaTeX arrives with the first reply that needs it; until then the source shows. */
function typesetLater(elements: Element[]): void {
  if (mathModule) return mathModule.typeset(elements);
  mathLoading ??= import("./math.ts").then((m) => mathModule = m);
  mathLoading.then((m) => m.typeset(elements.filter((el) => el.isConnected))).catch((e) => {
    mathLoading = null;
    console.error("Math renderer failed to load", e);
  });
}

// Markdown for assistant replies, loaded lazily (it is most of the page's JavaScript). Raw HTML in
// the Markdown is shown as text, never parsed; DOMPurify then strips anything else unsafe (event
// handlers, javascript: links) from what marked and highlight.js produced, as a second wall.
import { Marked, type Tokens } from "marked";
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

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
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
  const html = marked.parse(text) as string;
  const fragment = purify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ["href", "title", "class", "start", "align", "type", "checked", "disabled"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
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
  return fragment;
}

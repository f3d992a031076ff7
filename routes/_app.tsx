// The HTML shell every page shares: metadata, the stylesheet and the island bundle. The asset
// names come from static/build/manifest.json, written by tools/build_ui.ts (`deno task build`).
import type { ComponentChildren, VNode } from "preact";
import { renderToString } from "preact-render-to-string";

export interface UiManifest {
  /** Paths under /static/build/. */
  entry: string;
  css: string;
  /** Chunks the entry loads later (the Markdown renderer): fetched early with modulepreload. */
  preload: string[];
}

const MANIFEST_URL = new URL("../static/build/manifest.json", import.meta.url);
let warned = false;

/** Read per request (it is tiny) so a rebuild is picked up without a restart. */
export function readManifest(): UiManifest | null {
  try {
    return JSON.parse(Deno.readTextFileSync(MANIFEST_URL));
  } catch {
    if (!warned) {
      warned = true;
      console.error("UI bundle missing: run `deno task build` to create static/build/.");
    }
    return null;
  }
}

export function App({ title, children }: { title: string; children: ComponentChildren }) {
  const assets = readManifest();
  const asset = (file: string) => `/static/build/${file}`;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
        <meta name="color-scheme" content="light dark" />
        <meta name="theme-color" content="#f7f7f5" media="(prefers-color-scheme: light)" />
        <meta name="theme-color" content="#17181b" media="(prefers-color-scheme: dark)" />
        <meta name="description" content="Chat with an AI assistant." />
        <title>{title}</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href={assets ? asset(assets.css) : "/static/styles.css"} />
        {assets && <script type="module" src={asset(assets.entry)} />}
        {assets?.preload.map((file) => <link key={file} rel="modulepreload" href={asset(file)} />)}
      </head>
      <body>
        {children}
        <noscript>
          <p class="noscript">This chat needs JavaScript to talk to the assistant.</p>
        </noscript>
      </body>
    </html>
  );
}

export function renderPage(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`;
}

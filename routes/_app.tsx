// The HTML shell every page shares: metadata, the stylesheet and the island bundle. The asset
// names come from static/build/manifest.json, written by tasks/build.ts (`deno task build`).
import type { ComponentChildren, VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { readManifest } from "../lib/server/ui_manifest.ts";

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
        {!assets && <BuildMissing />}
        {children}
        <noscript>
          <p class="noscript">This chat needs JavaScript to talk to the assistant.</p>
        </noscript>
      </body>
    </html>
  );
}

/** Without the bundle the page cannot start: say so on it, not only in the server's terminal. */
function BuildMissing() {
  return (
    <p class="build-missing" role="alert">
      The chat's browser bundle has not been built, so this page cannot start. Run{" "}
      <code>deno task build</code> (<code>deno task server</code> and <code>deno task start</code>
      {" "}
      build it first), then reload.
    </p>
  );
}

export function renderPage(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`;
}

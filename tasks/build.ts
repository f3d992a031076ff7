// Bundles the islands for the browser into static/build/: `deno bundle` (minified, code-split so
// the Markdown renderer loads after the chat is interactive, and KaTeX only when a reply has
// math), content-hashed file names, the stylesheets (static/styles.css, then static/css/*.css)
// joined under a hashed name, KaTeX's stylesheet and fonts (served from our origin: the CSP
// allows nothing else), and manifest.json for routes/_app.tsx. Prints sizes.
//   deno task build
import type { UiManifest } from "../lib/server/ui_manifest.ts";

const root = new URL("../", import.meta.url);
const OUT = new URL("static/build/", root);
const ENTRY = "islands/_hydrate.ts";

export interface BuildReport {
  manifest: UiManifest;
  /** Gzipped bytes of the JavaScript needed before the chat is interactive (entry + its imports). */
  initialGzip: number;
  /** Gzipped bytes of all JavaScript, lazy chunks included. */
  totalGzip: number;
  files: Array<{ file: string; bytes: number; gzip: number }>;
}

async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

async function hash(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest.slice(0, 5), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The chunks a module imports dynamically (`import("./x.js")`): the lazy ones worth preloading. */
function dynamicImports(code: string): string[] {
  return [...code.matchAll(/import\(\s*["']\.\/([^"']+)["']\s*\)/g)].map((m) => m[1]);
}

/** static/styles.css, then every static/css/*.css in name order, as one stylesheet. */
async function stylesheet(): Promise<Uint8Array> {
  const parts = [await Deno.readTextFile(new URL("static/styles.css", root))];
  const names: string[] = [];
  for await (const e of Deno.readDir(new URL("static/css/", root))) {
    if (e.isFile && e.name.endsWith(".css")) names.push(e.name);
  }
  for (const name of names.sort()) {
    parts.push(await Deno.readTextFile(new URL(`static/css/${name}`, root)));
  }
  return new TextEncoder().encode(parts.join("\n"));
}

/** KaTeX's stylesheet and its woff2 fonts (every browser we serve reads woff2) into katex/. */
async function copyKatex(): Promise<void> {
  const dist = new URL("node_modules/katex/dist/", root);
  const out = new URL("katex/", OUT);
  await Deno.mkdir(new URL("fonts/", out), { recursive: true });
  await Deno.copyFile(new URL("katex.min.css", dist), new URL("katex.min.css", out));
  for await (const e of Deno.readDir(new URL("fonts/", dist))) {
    if (e.name.endsWith(".woff2")) {
      await Deno.copyFile(new URL(`fonts/${e.name}`, dist), new URL(`fonts/${e.name}`, out));
    }
  }
}

/** The chunks a module imports statically (`import ... from "../tools/x.js"`), not `import("../tools/x.js")`. */
function staticImports(code: string): string[] {
  return [
    ...code.matchAll(
      /(?:^|[;}\s])(?:import|export)\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+)["']/g,
    ),
  ]
    .map((m) => m[1]);
}

export async function buildUi(opts: { quiet?: boolean } = {}): Promise<BuildReport> {
  await Deno.mkdir(OUT, { recursive: true });
  const tmp = new URL(`static/build/.tmp-${crypto.randomUUID()}/`, root);
  const args = [
    "bundle",
    "--quiet",
    "--platform=browser",
    "--minify",
    "--code-splitting",
    "--format=esm",
    `--outdir=${tmp.pathname}`,
    ENTRY,
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new Error(`deno bundle failed:\n${new TextDecoder().decode(out.stderr)}`);
  }

  // Start clean so stale bundles never linger, then move the fresh files in.
  for await (const entry of Deno.readDir(OUT)) {
    if (!entry.name.startsWith(".tmp-")) {
      await Deno.remove(new URL(entry.name, OUT), { recursive: true });
    }
  }
  const chunks: string[] = [];
  let entryCode = "";
  for await (const entry of Deno.readDir(tmp)) {
    if (entry.name === "_hydrate.js") entryCode = await Deno.readTextFile(new URL(entry.name, tmp));
    else if (entry.name.endsWith(".js")) chunks.push(entry.name);
  }
  for (const chunk of chunks) await Deno.rename(new URL(chunk, tmp), new URL(chunk, OUT));
  const entryBytes = new TextEncoder().encode(entryCode);
  const entryName = `client-${await hash(entryBytes)}.js`;
  await Deno.writeFile(new URL(entryName, OUT), entryBytes);
  await Deno.remove(tmp, { recursive: true });

  await copyKatex();
  const cssBytes = await stylesheet();
  const cssName = `styles-${await hash(cssBytes)}.css`;
  await Deno.writeFile(new URL(cssName, OUT), cssBytes);

  // Everything the entry pulls in statically is needed up front; the rest is lazy.
  const initial = new Set([entryName]);
  const lazy = new Set<string>();
  const queue = [entryCode];
  while (queue.length) {
    const code = queue.pop()!;
    for (const dep of dynamicImports(code)) lazy.add(dep);
    for (const dep of staticImports(code)) {
      if (initial.has(dep)) continue;
      initial.add(dep);
      queue.push(await Deno.readTextFile(new URL(dep, OUT)));
    }
  }
  const manifest: UiManifest = {
    entry: entryName,
    css: cssName,
    // What the first page loads later anyway (the Markdown renderer), not what only some replies
    // need (KaTeX, imported by that renderer).
    preload: chunks.filter((c) => !initial.has(c) && lazy.has(c)).sort(),
  };
  await Deno.writeTextFile(new URL("manifest.json", OUT), JSON.stringify(manifest, null, 2) + "\n");

  const files = [];
  for (const file of [entryName, ...chunks.sort(), cssName]) {
    const bytes = await Deno.readFile(new URL(file, OUT));
    files.push({ file, bytes: bytes.byteLength, gzip: await gzipSize(bytes) });
  }
  const js = files.filter((f) => f.file.endsWith(".js"));
  const report: BuildReport = {
    manifest,
    initialGzip: js.filter((f) => initial.has(f.file)).reduce((n, f) => n + f.gzip, 0),
    totalGzip: js.reduce((n, f) => n + f.gzip, 0),
    files,
  };
  if (!opts.quiet) printReport(report);
  return report;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

function printReport(r: BuildReport): void {
  console.log("static/build/");
  for (const f of r.files) {
    console.log(
      `  ${f.file.padEnd(32)} ${kb(f.bytes).padStart(10)} ${kb(f.gzip).padStart(10)} gzip`,
    );
  }
  console.log(
    `JavaScript, gzipped: ${kb(r.initialGzip)} before the chat is interactive, ` +
      `${kb(r.totalGzip)} in all (Markdown + highlighting, and LaTeX, load lazily).`,
  );
}

if (import.meta.main) await buildUi();

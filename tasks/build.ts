// Bundles the islands for the browser into static/build/: `deno bundle` (minified, code-split so
// the Markdown renderer loads after the chat is interactive), content-hashed file names, the
// stylesheet copied under a hashed name, and manifest.json for routes/_app.tsx. Prints sizes.
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

  const cssBytes = await Deno.readFile(new URL("static/styles.css", root));
  const cssName = `styles-${await hash(cssBytes)}.css`;
  await Deno.writeFile(new URL(cssName, OUT), cssBytes);

  // Everything the entry pulls in statically is needed up front; the rest is lazy.
  const initial = new Set([entryName]);
  const queue = [entryCode];
  while (queue.length) {
    for (const dep of staticImports(queue.pop()!)) {
      if (initial.has(dep)) continue;
      initial.add(dep);
      queue.push(await Deno.readTextFile(new URL(dep, OUT)));
    }
  }
  const manifest: UiManifest = {
    entry: entryName,
    css: cssName,
    preload: chunks.filter((c) => !initial.has(c)).sort(),
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
      `${kb(r.totalGzip)} in all (Markdown + highlighting load lazily).`,
  );
}

if (import.meta.main) await buildUi();

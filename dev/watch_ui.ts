// `deno task dev`: rebuilds the browser bundle whenever an island, a component, the browser-safe
// contract or a stylesheet changes. The web server reads static/build/manifest.json per request,
// so a reload picks the new bundle up; no restart.
const ROOT = new URL("../", import.meta.url);
/** What the bundle is made of (static/build, the output, is not watched). */
const WATCHED = ["islands", "components", "lib/contract", "static/styles.css", "static/css"];
/** Editors write a file in several steps: wait for the burst to end. */
const SETTLE_MS = 150;

export interface UiWatcher {
  close(): void;
}

async function build(): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/build.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.success ? out.stdout : out.stderr).trim();
  if (out.success) console.log(`ui rebuilt: ${text.split("\n").at(-1) ?? ""}`);
  else console.error(`ui build failed (the page keeps the last good bundle):\n${text}`);
}

export function watchUi(): UiWatcher {
  const paths = WATCHED.map((p) => new URL(p, ROOT).pathname);
  const watcher = Deno.watchFs(paths, { recursive: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  const run = () => {
    // One build at a time; changes during a build get one more after it.
    if (running) return void (again = true);
    running = build().finally(() => {
      running = null;
      if (again) {
        again = false;
        run();
      }
    });
  };
  (async () => {
    for await (const event of watcher) {
      if (event.kind === "access" || event.paths.every((p) => p.includes("/static/build/"))) {
        continue;
      }
      clearTimeout(timer);
      timer = setTimeout(run, SETTLE_MS);
    }
  })().catch(() => {/* closed */});
  console.log("watching islands/, components/, lib/contract/ and the stylesheets for the UI");
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

if (import.meta.main) watchUi();

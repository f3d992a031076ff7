// The browser bundle's manifest (static/build/manifest.json): written by tasks/build.ts
// (`deno task build`), read by the page shell on each request.
import { log } from "../log.ts";

export interface UiManifest {
  /** Paths under /static/build/. */
  entry: string;
  css: string;
  /** Chunks the entry loads later (the Markdown renderer): fetched early with modulepreload. */
  preload: string[];
}

const MANIFEST_URL = new URL("../../static/build/manifest.json", import.meta.url);
let warned = false;

/** Read per request (it is tiny) so a rebuild is picked up without a restart. */
export function readManifest(): UiManifest | null {
  try {
    return JSON.parse(Deno.readTextFileSync(MANIFEST_URL));
  } catch {
    if (!warned) {
      warned = true;
      log.error("UI bundle missing: run `deno task build` to create static/build/.");
    }
    return null;
  }
}

// Debian's chromium under playwright-core, for browser tests. We start chromium ourselves (headless,
// a throwaway profile, no background traffic) and attach over CDP, so nothing depends on
// playwright's downloaded browsers or on its pipe transport.
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<LaunchedBrowser> {
  const profile = await Deno.makeTempDir({ prefix: "chat-browser-" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const cleanup = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  try {
    const wsEndpoint = await devtoolsUrl(child.stderr);
    const browser = await chromium.connectOverCDP(wsEndpoint);
    return {
      browser,
      async close() {
        await browser.close().catch(() => {});
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Reads chromium's stderr until it prints "DevTools listening on ws://...", then drains the rest. */
async function devtoolsUrl(
  stderr: ReadableStream<Uint8Array>,
  timeoutMs = 20_000,
): Promise<string> {
  const reader = stderr.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  const timer = setTimeout(() => reader.cancel(), timeoutMs);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`chromium exited or timed out before DevTools was up:\n${seen}`);
      seen += decoder.decode(value, { stream: true });
      const match = seen.match(/DevTools listening on (ws:\/\/\S+)/);
      if (match) {
        drain(reader);
        return match[1];
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps reading so chromium never blocks on a full stderr pipe. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done) { /* discard */ }
  } catch { /* the process is gone */ }
}

// `deno task screenshots`: the README's screenshots, docs/chat-<width>-<scheme>.png at 375 and
// 1280 px, light and dark, of a short chat with a code reply. A script rather than a task under
// tasks/ because it runs the whole stack with the tests' local model server (tests/support);
// the task's "build" dependency builds the UI first.
import { send, startBrowserStack } from "./support/page.ts";
import { reply, TOKEN_DELAY_MS } from "./support/replies.ts";

const DOCS = new URL("../docs/", import.meta.url);

const ui = await startBrowserStack({ reply, tokenDelayMs: TOKEN_DELAY_MS, build: false });
try {
  const shots = await ui.newPage(1280, 800);
  await shots.goto(ui.stack.baseUrl);
  await shots.getByLabel("Your name").fill("Ada");
  await shots.getByLabel("Your name").press("Enter");
  await send(shots, "Hi! Can you show me some code?");
  await shots.locator(".msg-assistant[data-state=done]").waitFor();
  for (const scheme of ["light", "dark"] as const) {
    await shots.emulateMedia({ colorScheme: scheme });
    for (const [width, height] of [[375, 740], [1280, 800]]) {
      await shots.setViewportSize({ width, height });
      await shots.waitForTimeout(100);
      const path = new URL(`chat-${width}-${scheme}.png`, DOCS).pathname;
      await shots.screenshot({ path });
      console.log(`wrote ${path}`);
    }
  }
} finally {
  await ui.close();
}

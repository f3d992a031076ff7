// `deno task screenshots`: the README's screenshots, docs/chat-<width>-<scheme>.png at 375 and
// 1280 px, light and dark, of a chat with a code reply and a few conversations in the sidebar
// (opened as a drawer at 375 px). A script rather than a task under tasks/ because it runs the
// whole stack with the tests' local model server (tests/support); the task's "build" dependency
// builds the UI first.
import { sendAndWait, startBrowserStack } from "./support/page.ts";
import { reply, TOKEN_DELAY_MS } from "./support/replies.ts";

const DOCS = new URL("../docs/", import.meta.url);

const ui = await startBrowserStack({ reply, tokenDelayMs: TOKEN_DELAY_MS, build: false });
try {
  const shots = await ui.newPage(1280, 800);
  await shots.goto(ui.stack.baseUrl);
  await shots.getByLabel("Your name").fill("Ada");
  await shots.getByLabel("Your name").press("Enter");
  await shots.locator('.badge[data-state="open"]').waitFor();
  // Earlier conversations first, so the one shown is the most recent.
  for (const text of ["Plan a weekend in Lisbon", "Explain a table of results"]) {
    await sendAndWait(shots, text);
    await shots.getByRole("button", { name: "New chat" }).click();
    await shots.locator(".msg").first().waitFor({ state: "detached" });
  }
  await sendAndWait(shots, "Hi! Can you show me some code?");
  await shots.mouse.move(0, 0);
  for (const scheme of ["light", "dark"] as const) {
    await shots.emulateMedia({ colorScheme: scheme });
    for (const [width, height] of [[375, 740], [1280, 800]]) {
      await shots.setViewportSize({ width, height });
      const drawer = width < 768;
      if (drawer) await shots.getByRole("button", { name: "Conversations" }).click();
      await shots.waitForTimeout(300);
      const path = new URL(`chat-${width}-${scheme}.png`, DOCS).pathname;
      await shots.screenshot({ path });
      console.log(`wrote ${path}`);
      if (drawer) await shots.keyboard.press("Escape");
    }
  }
} finally {
  await ui.close();
}

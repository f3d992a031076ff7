// Chatting in a real browser (Debian chromium driven by playwright-core) against the real web
// server, worker and Redis, with a local model that streams one word every TOKEN_DELAY_MS: a reply
// streams in, survives a reload, can be stopped, renders Markdown, and keeps the newest text in
// view. Every test opens its own page as a new visitor. Prints the UI bundle size and the time
// from page load to interactive (figures only; nothing is asserted on time).
import assert from "node:assert/strict";
import {
  BROWSER_TEST,
  bubbleTexts,
  lastReply,
  lastReplyState,
  pageHistory,
  readyMark,
  recordReplies,
  seenTexts,
  send,
  sendAndWait,
  signIn,
  stopWasShown,
  useBrowserStack,
} from "./support/page.ts";
import { CODE, LONG, PLAIN, reply, TOKEN_DELAY_MS } from "./support/replies.ts";
import { waitFor } from "./support/wait.ts";

const timings: Record<string, number> = {};

const shared = useBrowserStack({ reply, tokenDelayMs: TOKEN_DELAY_MS }, (ui) => {
  const build = ui.build;
  if (build) {
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    console.log(
      `UI JavaScript gzipped: ${kb(build.initialGzip)} before interactive, ${
        kb(build.totalGzip)
      } in all`,
    );
  }
  for (const [what, ms] of Object.entries(timings)) {
    console.log(`page load -> interactive, ${what}: ${ms.toFixed(0)} ms`);
  }
});

Deno.test(
  "name -> token -> send: the reply grows word by word to the model's text",
  BROWSER_TEST,
  async () => {
    const page = await shared.ui.newPage();
    await page.goto(shared.ui.stack.baseUrl);
    timings["welcome (new visitor)"] = await readyMark(page, "chat:welcome-ready");
    // Keyboard only: the name field has focus, Enter submits, the composer then has focus.
    await page.getByLabel("Your name").waitFor();
    await page.keyboard.type("Ada");
    await page.keyboard.press("Enter");
    await page.getByLabel("Message").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), "composer-input");
    await page.locator('.badge[data-state="open"]').waitFor();
    assert.equal((await pageHistory(shared.ui.stack.baseUrl, page)).name, "Ada");

    await recordReplies(page);
    const oneLine = await page.getByLabel("Message").evaluate((el) => el.clientHeight);
    await page.keyboard.type("Hello there");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("second line");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("third line");
    const threeLines = await page.getByLabel("Message").evaluate((el) => el.clientHeight);
    assert.ok(threeLines > oneLine, `the input grows (${oneLine}px -> ${threeLines}px)`);
    await page.keyboard.press("Enter");
    await page.locator(".msg-assistant[data-state=done]").waitFor();

    assert.equal(
      await page.locator(".msg-user .plain").textContent(),
      "Hello there\nsecond line\nthird line",
    );
    assert.equal(await lastReply(page), PLAIN);
    const seen = await seenTexts(page);
    assert.equal(seen[0], "<typing>", `a typing indicator comes first: ${JSON.stringify(seen)}`);
    const steps = seen.slice(1).filter((s) => s !== PLAIN);
    assert.ok(steps.length >= 3, `the reply grew in several steps: ${JSON.stringify(seen)}`);
    for (const s of steps) assert.ok(PLAIN.startsWith(s), `every step is a prefix: ${s}`);
    assert.ok(await stopWasShown(page));
    assert.equal(await page.locator(".send").textContent(), "Send");
    assert.match(
      await page.locator("div.sr-only[aria-live=polite]").textContent() ?? "",
      /quick brown fox/,
    );
  },
);

Deno.test("reload: the history is back, in order, once", BROWSER_TEST, async () => {
  const page = await shared.ui.newPage();
  await signIn(page, shared.ui.stack.baseUrl);
  await sendAndWait(page, "Hello there\nsecond line\nthird line");

  await page.reload();
  timings["chat with history (returning visitor)"] = await readyMark(page, "chat:chat-ready");
  await page.locator(".msg-assistant[data-state=done]").waitFor();
  await page.waitForTimeout(500); // a replay after the resume would show up by now
  assert.deepEqual(await bubbleTexts(page), [
    { role: "user", text: "Hello there\nsecond line\nthird line" },
    { role: "assistant", text: PLAIN },
  ]);
  await page.locator('.badge[data-state="open"]').waitFor();
});

Deno.test(
  "Stop in the middle of a reply: generation halts, the partial reply stays",
  BROWSER_TEST,
  async () => {
    const { stack } = shared.ui;
    const page = await shared.ui.newPage();
    await signIn(page, stack.baseUrl);
    const abortedBefore = stack.model!.aborted;
    await send(page, "long reply please");
    await waitFor(async () => (await lastReply(page)).length > 40, "some streamed text");
    await page.getByRole("button", { name: "Stop" }).click();
    await page.locator(".msg-assistant[data-state=stopped]").waitFor();
    const partial = await lastReply(page);
    assert.ok(partial.length > 40 && partial.length < LONG.length, `partial: ${partial}`);
    assert.ok(LONG.startsWith(partial), "the partial reply is the start of the model's output");
    await waitFor(() => stack.model!.aborted > abortedBefore, "the model stream to be cancelled");
    await page.waitForTimeout(4 * TOKEN_DELAY_MS * 3);
    assert.equal(await lastReply(page), partial, "no text arrives after the stop");
    const stored = (await pageHistory(stack.baseUrl, page)).messages.at(-1)!;
    assert.equal(stored.role, "assistant");
    assert.equal(stored.content, partial);
    assert.equal(await page.locator(".send").textContent(), "Send");
  },
);

Deno.test("Markdown: highlighted code with a copy button", BROWSER_TEST, async () => {
  const page = await shared.ui.newPage();
  await signIn(page, shared.ui.stack.baseUrl);
  await sendAndWait(page, "show me some code");
  const last = page.locator(".msg-assistant").last();
  assert.equal(await last.locator("strong").textContent(), "small");
  assert.equal(await last.locator("li").count(), 2);
  assert.equal(await last.locator("pre code").textContent(), CODE);
  assert.ok(await last.locator("pre code .hljs-keyword").count() > 0, "keywords are highlighted");
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], {
    origin: shared.ui.stack.baseUrl,
  });
  await last.getByRole("button", { name: "Copy code" }).click();
  await last.getByRole("button", { name: "Copy code" }).filter({ hasText: "Copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), CODE);
});

Deno.test("the newest text stays in view unless the reader scrolled up", BROWSER_TEST, async () => {
  const page = await shared.ui.newPage(375, 560);
  await signIn(page, shared.ui.stack.baseUrl);
  // Some history first, so that the conversation is taller than the screen.
  await sendAndWait(page, "show me some code");
  await sendAndWait(page, "and some more code");
  const replies = await page.locator(".msg-assistant").count();
  await send(page, "long again");
  const scroller = page.locator(".scroller");
  const gap = () => scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
  await waitFor(async () => (await lastReply(page)).length > 60, "streamed text");
  assert.ok(await gap() < 48, "follows the reply");
  const box = (await scroller.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -5000);
  await page.getByRole("button", { name: /Jump to latest/ }).waitFor();
  await waitFor(async () => await scroller.evaluate((el) => el.scrollTop) === 0, "the top");
  const length = (await lastReply(page)).length;
  await waitFor(async () => (await lastReply(page)).length > length + 20, "more text");
  assert.equal(await scroller.evaluate((el) => el.scrollTop), 0, "stays where the reader is");
  await page.getByRole("button", { name: /Jump to latest/ }).click();
  assert.ok(await gap() < 48, "back at the newest text");
  await waitFor(
    async () =>
      await page.locator(".msg-assistant").count() === replies + 1 &&
      await lastReplyState(page) === "done",
    "the reply",
  );
});

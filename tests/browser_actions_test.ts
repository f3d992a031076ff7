// What a person does with messages, in a real browser (see browser_chat_test.ts): regenerate and
// edit, copy, Escape to stop, outcomes (stopped, failed) that survive a reload and a Retry that
// works after one, focus that stays on a Copy button while the reply around it streams, tables
// that keep their alignment and scroll, LaTeX typeset from our own origin, and the theme toggle.
import assert from "node:assert/strict";
import {
  BROWSER_TEST,
  bubbleTexts,
  lastReply,
  lastReplyState,
  pageHistory,
  send,
  sendAndWait,
  signIn,
  useBrowserStack,
} from "./support/page.ts";
import { LONG, PLAIN, reply, TOKEN_DELAY_MS } from "./support/replies.ts";
import { waitFor } from "./support/wait.ts";

const shared = useBrowserStack({ reply, tokenDelayMs: TOKEN_DELAY_MS });

Deno.test(
  "regenerate replaces the last reply; edit replaces a question and what followed",
  BROWSER_TEST,
  async () => {
    const page = await shared.ui.newPage();
    await signIn(page, shared.ui.stack.baseUrl);
    await sendAndWait(page, "vary first");
    await sendAndWait(page, "vary second");
    const before = await lastReply(page);
    await page.getByRole("button", { name: "Regenerate this reply" }).click();
    await waitFor(
      async () => (await lastReply(page)) !== before && await lastReplyState(page) === "done",
      "a new reply",
    );
    assert.equal((await bubbleTexts(page)).length, 4, "replaced, not added");
    assert.match(await lastReply(page), /^Answer number \d+ to: vary second$/);
    const stored = (await pageHistory(shared.ui.stack.baseUrl, page)).messages;
    assert.equal(stored.at(-1)?.content, await lastReply(page));
    assert.equal(stored.length, 4);

    await page.locator(".msg-user").first().hover();
    await page.getByRole("button", { name: "Edit this question" }).first().click();
    await page.getByLabel("Your question, edited").fill("vary edited");
    await page.getByLabel("Your question, edited").press("Enter");
    await waitFor(
      async () => (await bubbleTexts(page)).length === 2 && await lastReplyState(page) === "done",
      "the edited turn",
    );
    const texts = await bubbleTexts(page);
    assert.equal(texts[0].text, "vary edited");
    assert.match(texts[1].text, /to: vary edited$/);
    assert.deepEqual(
      (await pageHistory(shared.ui.stack.baseUrl, page)).messages.map((m) => m.content),
      texts.map((t) => t.text),
    );
    // Escape in the edit box cancels the edit, nothing else.
    await page.getByRole("button", { name: "Edit this question" }).click();
    await page.getByLabel("Your question, edited").press("Escape");
    await page.getByLabel("Your question, edited").waitFor({ state: "detached" });
    assert.equal((await bubbleTexts(page))[0].text, "vary edited");
  },
);

Deno.test("copy a whole message", BROWSER_TEST, async () => {
  const page = await shared.ui.newPage();
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], {
    origin: shared.ui.stack.baseUrl,
  });
  await signIn(page, shared.ui.stack.baseUrl);
  await sendAndWait(page, "show me some code");
  await page.getByRole("button", { name: "Copy this reply" }).click();
  await page.getByRole("button", { name: "Copy this reply" }).filter({ hasText: "Copied" })
    .waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.ok(copied.startsWith("Here is a **small** function:"), "the Markdown source");
  await page.getByRole("button", { name: "Copy this question" }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "show me some code");
  assert.ok(await page.locator(".msg-time").first().textContent(), "a time shows with the actions");
});

Deno.test("Escape stops the reply being written", BROWSER_TEST, async () => {
  const page = await shared.ui.newPage();
  await signIn(page, shared.ui.stack.baseUrl);
  await send(page, "long one to stop with Escape");
  await waitFor(async () => (await lastReply(page)).length > 30, "some streamed text");
  await page.keyboard.press("Escape");
  await page.locator(".msg-assistant[data-state=stopped]").waitFor();
  const partial = await lastReply(page);
  assert.ok(partial.length < LONG.length && LONG.startsWith(partial));
});

Deno.test(
  "stopped and failed outcomes come back after a reload; Retry works after it",
  BROWSER_TEST,
  async () => {
    const page = await shared.ui.newPage();
    await signIn(page, shared.ui.stack.baseUrl);
    await send(page, "long, then halted");
    await waitFor(async () => (await lastReply(page)).length > 30, "some streamed text");
    await page.getByRole("button", { name: "Stop" }).click();
    await page.locator(".msg-assistant[data-state=stopped]").waitFor();
    await send(page, "fail this one");
    await page.locator(".msg-user[data-state=failed]").waitFor();
    await page.reload();
    await page.locator(".msg-assistant[data-state=stopped]").waitFor();
    const failed = page.locator(".msg-user[data-state=failed]");
    await failed.waitFor();
    assert.match(await failed.locator(".note-error").textContent() ?? "", /\w+/);
    assert.equal(await page.locator(".msg-assistant").count(), 1, "no reply after the failure");
    await page.locator('.badge[data-state="open"]').waitFor();
    await failed.getByRole("button", { name: "Retry" }).click();
    await waitFor(
      async () => await lastReplyState(page) === "done" && await lastReply(page) === PLAIN,
      "the retried reply",
    );
    await page.reload();
    await page.locator(".msg-assistant").nth(1).waitFor();
    const texts = await bubbleTexts(page);
    assert.deepEqual(texts.map((t) => t.role), ["user", "assistant", "user", "assistant"]);
    assert.equal(texts[2].text, "fail this one", "the text the user typed is kept");
    assert.equal(await page.locator(".msg[data-state=failed]").count(), 0);
  },
);

Deno.test(
  "focus stays on a Copy button inside a reply that is still streaming",
  BROWSER_TEST,
  async () => {
    const page = await shared.ui.newPage();
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: shared.ui.stack.baseUrl,
    });
    await signIn(page, shared.ui.stack.baseUrl);
    await send(page, "codestream please");
    const copy = page.locator(".msg-assistant").last().getByRole("button", { name: "Copy code" });
    await copy.waitFor();
    await waitFor(
      async () => (await lastReply(page)).includes("tail3"),
      "text after the code block",
    );
    assert.equal(await lastReplyState(page), "streaming");
    await copy.evaluate((el) => {
      el.setAttribute("data-probe", "focused");
      (el as HTMLElement).focus();
    });
    const length = (await lastReply(page)).length;
    await waitFor(async () => (await lastReply(page)).length > length + 40, "more streamed text");
    assert.equal(await lastReplyState(page), "streaming", "still streaming");
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute("data-probe")),
      "focused",
      "the same button keeps focus",
    );
    await page.keyboard.press("Enter"); // and it still works from the keyboard
    await copy.filter({ hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "const answer = 42;");
    await waitFor(async () => await lastReplyState(page) === "done", "the reply");
    assert.ok((await lastReply(page)).endsWith("tail89."));
  },
);

Deno.test(
  "tables keep their alignment and scroll sideways; LaTeX is typeset from our origin",
  BROWSER_TEST,
  async () => {
    const page = await shared.ui.newPage(375, 740);
    const violations: string[] = [];
    page.on(
      "console",
      (m) => /Content Security Policy/i.test(m.text()) && violations.push(m.text()),
    );
    await signIn(page, shared.ui.stack.baseUrl);
    await sendAndWait(page, "table please");
    const reply = page.locator(".msg-assistant").last();
    const align = (cell: string) =>
      reply.locator(cell).first().evaluate((el) => getComputedStyle(el).textAlign);
    assert.equal(await align("th[align=center]"), "center");
    assert.equal(await align("td[align=right]"), "right");
    assert.equal(await align("td[align=left]"), "left");
    const wide = reply.locator(".table-wrap").nth(1);
    assert.ok(
      await wide.evaluate((el) => el.scrollWidth > el.clientWidth + 50),
      "the wide table scrolls",
    );
    assert.ok(
      await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
      "the page does not",
    );

    await sendAndWait(page, "math please");
    const math = page.locator(".msg-assistant").last();
    await math.locator(".katex").first().waitFor();
    assert.equal(await math.locator(".katex").count(), 2);
    assert.equal(
      await math.locator(".math-display .katex-display, .math-display .katex").count() > 0,
      true,
    );
    const css = await page.evaluate(() =>
      [...document.querySelectorAll("link[rel=stylesheet]")].map((l) => (l as HTMLLinkElement).href)
        .find((h) => h.includes("katex"))
    );
    assert.ok(
      css?.startsWith(shared.ui.stack.baseUrl),
      `KaTeX's stylesheet from our origin: ${css}`,
    );
    await page.waitForFunction(() => document.fonts.check("16px KaTeX_Main"));
    assert.deepEqual(violations, [], "nothing the policy had to block");
  },
);

Deno.test("the theme toggle: system, light, dark, remembered", BROWSER_TEST, async () => {
  const page = await shared.ui.newPage();
  await page.emulateMedia({ colorScheme: "light" });
  await signIn(page, shared.ui.stack.baseUrl);
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await background();
  const toggle = page.getByRole("button", { name: /^Theme:/ });
  await toggle.click(); // system -> light
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
  await toggle.click(); // light -> dark
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
  assert.notEqual(await background(), light);
  await page.reload();
  await page.locator('.badge[data-state="open"]').waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
  assert.notEqual(await background(), light);
});

// Conversations in a real browser (see browser_chat_test.ts): two kept apart, rename, filter,
// delete (with undo) and switch, the drawer below 768 px, a second tab in step, and the time to
// switch to a long conversation (printed, never asserted).
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { Message } from "../lib/contract/frames.ts";
import { sessionKeys } from "../lib/redis/keys.ts";
import { messageMember } from "../lib/redis/message_members.ts";
import { createConversation, listConversations } from "./support/api.ts";
import { BROWSER_TEST, bubbleTexts, sendAndWait, signIn, useBrowserStack } from "./support/page.ts";
import { PLAIN, reply, TOKEN_DELAY_MS } from "./support/replies.ts";
import { waitFor } from "./support/wait.ts";

const figures: string[] = [];
const shared = useBrowserStack({ reply, tokenDelayMs: TOKEN_DELAY_MS }, () => {
  for (const line of figures) console.log(line);
});

const tokenOf = (page: Page): Promise<string> =>
  page.evaluate(() => JSON.parse(localStorage.getItem("chat.session")!).token);
const titles = (page: Page) =>
  page.locator(".conv-open").evaluateAll((els) => els.map((e) => e.textContent?.trim()));
const item = (page: Page, title: string) => page.locator(".conv", { hasText: title });

/** A second page (its own browser context) on the same session, as another tab would be. */
async function secondTab(first: Page): Promise<Page> {
  const session = await first.evaluate(() => localStorage.getItem("chat.session")!);
  const page = await shared.ui.newPage();
  await page.goto(shared.ui.stack.baseUrl);
  await page.evaluate((s) => localStorage.setItem("chat.session", s), session);
  await page.reload();
  await page.locator('.badge[data-state="open"]').waitFor();
  return page;
}

Deno.test(
  "two conversations are kept apart; rename, filter, delete with undo, switch",
  BROWSER_TEST,
  async () => {
    const page = await shared.ui.newPage();
    await signIn(page, shared.ui.stack.baseUrl);
    await sendAndWait(page, "apples are red");
    await page.getByRole("button", { name: "New chat" }).click();
    await waitFor(async () => await page.locator(".msg").count() === 0, "an empty chat");
    await sendAndWait(page, "bananas are yellow");
    await waitFor(async () => (await titles(page)).length === 2, "two conversations listed");
    assert.deepEqual(await titles(page), ["bananas are yellow", "apples are red"]);

    await item(page, "apples").locator(".conv-open").click();
    await waitFor(async () => (await bubbleTexts(page))[0]?.text === "apples are red", "apples");
    assert.deepEqual(await bubbleTexts(page), [
      { role: "user", text: "apples are red" },
      { role: "assistant", text: PLAIN },
    ]);
    await item(page, "bananas").locator(".conv-open").click();
    await waitFor(
      async () => (await bubbleTexts(page))[0]?.text === "bananas are yellow",
      "bananas",
    );
    assert.equal((await bubbleTexts(page)).length, 2);

    // Rename in place; the server keeps it.
    await item(page, "bananas").getByRole("button", { name: /^Rename/ }).click();
    await page.getByLabel("New title").fill("Fruit facts");
    await page.getByLabel("New title").press("Enter");
    await item(page, "Fruit facts").waitFor();
    const token = await tokenOf(page);
    await waitFor(
      async () =>
        (await listConversations(shared.ui.stack.baseUrl, token)).some((c) =>
          c.title === "Fruit facts"
        ),
      "the rename stored",
    );
    // The title filter.
    await page.getByLabel("Filter conversations by title").fill("APP");
    assert.deepEqual(await titles(page), ["apples are red"]);
    await page.getByLabel("Filter conversations by title").fill("");

    // Delete, undo, delete for good: the other one is shown.
    await item(page, "Fruit facts").getByRole("button", { name: /^Delete/ }).click();
    await page.getByText("Deleted “Fruit facts”.").waitFor();
    assert.deepEqual(await titles(page), ["apples are red"]);
    await page.getByRole("button", { name: "Undo" }).click();
    await item(page, "Fruit facts").waitFor();
    await item(page, "Fruit facts").getByRole("button", { name: /^Delete/ }).click();
    await waitFor(
      async () => (await bubbleTexts(page))[0]?.text === "apples are red",
      "apples shown",
    );
    await waitFor(
      async () => (await listConversations(shared.ui.stack.baseUrl, token)).length === 1,
      "the delete sent once the undo time is over",
      15_000,
    );
    await page.reload();
    await page.locator(".conv").first().waitFor();
    assert.deepEqual(await titles(page), ["apples are red"]);
  },
);

Deno.test("below 768 px the list is a drawer", BROWSER_TEST, async () => {
  const page = await shared.ui.newPage(375, 740);
  await signIn(page, shared.ui.stack.baseUrl);
  await sendAndWait(page, "first topic");
  const sidebar = page.locator("#sidebar");
  assert.equal(await sidebar.isVisible(), false, "collapsed");
  await page.getByRole("button", { name: "Conversations" }).click();
  await sidebar.waitFor({ state: "visible" });
  await page.getByRole("button", { name: "New chat" }).click();
  await sidebar.waitFor({ state: "hidden" });
  await sendAndWait(page, "second topic");
  await page.getByRole("button", { name: "Conversations" }).click();
  await item(page, "first topic").locator(".conv-open").click();
  await sidebar.waitFor({ state: "hidden" });
  await waitFor(async () => (await bubbleTexts(page))[0]?.text === "first topic", "the first");
  await page.getByRole("button", { name: "Conversations" }).click();
  await page.keyboard.press("Escape");
  await sidebar.waitFor({ state: "hidden" });
});

Deno.test(
  "a second tab sees the first tab's question and answer, and its new chats",
  BROWSER_TEST,
  async () => {
    const one = await shared.ui.newPage();
    await signIn(one, shared.ui.stack.baseUrl);
    const two = await secondTab(one);
    await sendAndWait(one, "asked in the first tab");
    await waitFor(
      async () => JSON.stringify(await bubbleTexts(two)) === JSON.stringify(await bubbleTexts(one)),
      "the same chat in both tabs",
    );
    assert.deepEqual(await bubbleTexts(two), [
      { role: "user", text: "asked in the first tab" },
      { role: "assistant", text: PLAIN },
    ]);
    await waitFor(
      async () => (await titles(two))[0] === "asked in the first tab",
      "its title in tab two",
    );
    // A question from the second tab shows in the first, before its answer.
    await sendAndWait(two, "and one from the second");
    await waitFor(async () => (await bubbleTexts(one)).length === 4, "four bubbles in tab one");
    assert.deepEqual(await bubbleTexts(one), await bubbleTexts(two));
    await one.getByRole("button", { name: "New chat" }).click();
    await waitFor(async () => (await titles(two)).length === 2, "the new chat listed in tab two");
  },
);

Deno.test("switching to a conversation of 200 messages", BROWSER_TEST, async () => {
  const page = await shared.ui.newPage();
  await signIn(page, shared.ui.stack.baseUrl);
  const token = await tokenOf(page);
  const long = await createConversation(shared.ui.stack.baseUrl, token, "Two hundred messages");
  const keys = sessionKeys(token);
  const members = Array.from({ length: 200 }, (_, i) => {
    const m: Message = i % 2
      ? {
        id: `q${i - 1}:a`,
        role: "assistant",
        content: `Answer ${i}: **bold**, a list:\n\n- one\n- two\n\nand \`code\`.`,
        timestamp: new Date(Date.now() + i).toISOString(),
      }
      : {
        id: `q${i}`,
        role: "user",
        content: `Question ${i}`,
        timestamp: new Date().toISOString(),
      };
    return messageMember(long.id, i + 1, m);
  });
  for (let i = 0; i < members.length; i += 50) {
    const [first, ...rest] = members.slice(i, i + 50).map((member) => ({ score: 0, member }));
    await shared.ui.stack.redis.zadd(keys.history, first, ...rest);
  }
  await shared.ui.stack.redis.hset(keys.conversations, {
    [`${long.id}:count`]: "200",
    [`${long.id}:seq`]: "200",
  });
  await page.reload();
  await item(page, "Two hundred").waitFor();
  await page.evaluate(() => performance.clearMarks());
  await item(page, "Two hundred").locator(".conv-open").click();
  await page.waitForFunction(() => performance.getEntriesByName("chat:switch-painted").length > 0);
  const [fetched, ms] = await page.evaluate(() => {
    const at = (name: string) => performance.getEntriesByName(name)[0].startTime;
    const start = at("chat:switch-start");
    return [at("chat:switch-fetched") - start, at("chat:switch-painted") - start];
  });
  // The newest messages paint first, the older ones a frame later.
  await waitFor(async () => await page.locator(".msg").count() === 200, "all 200 messages");
  assert.equal(
    await page.locator(".msg-assistant .md strong").count(),
    100,
    "rendered as Markdown",
  );
  figures.push(
    `switch to a conversation of 200 messages: fetched and painted in ${ms.toFixed(0)} ms ` +
      `(fetched in ${fetched.toFixed(0)} ms)`,
  );
});

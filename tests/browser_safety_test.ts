// Nothing a user or a model writes runs in the page: HTML in a message and markup in a reply show
// as text, live and when rendered again from the history. Real browser, real stack (see
// browser_chat_test.ts).
import assert from "node:assert/strict";
import { BROWSER_TEST, lastReply, sendAndWait, signIn, useBrowserStack } from "./support/page.ts";
import { reply, TOKEN_DELAY_MS, XSS_MESSAGE, XSS_REPLY } from "./support/replies.ts";

const shared = useBrowserStack({ reply, tokenDelayMs: TOKEN_DELAY_MS });

Deno.test(
  "HTML from the user and a <script> from the model render as inert text",
  BROWSER_TEST,
  async () => {
    const page = await shared.ui.newPage();
    await signIn(page, shared.ui.stack.baseUrl);
    await sendAndWait(page, XSS_MESSAGE);
    const check = async () => {
      assert.equal(await page.locator(".msg-user .plain").last().textContent(), XSS_MESSAGE);
      assert.equal((await lastReply(page)).trim(), XSS_REPLY);
      assert.equal(await page.locator(".messages img, .messages script").count(), 0);
      await page.waitForTimeout(300); // an onerror would have fired by now
      assert.equal(
        await page.evaluate(() => typeof (globalThis as Record<string, unknown>).__xss),
        "undefined",
      );
    };
    await check();
    const replies = await page.locator(".msg-assistant").count();
    await page.reload(); // and rendered from the history
    await page.locator(".msg-assistant").nth(replies - 1).waitFor();
    assert.equal(await page.locator(".msg-assistant").count(), replies);
    await check();
  },
);

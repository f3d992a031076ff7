// What a user sees while no worker can answer: a banner, a failed message that says why and can
// be retried, and a working chat once a worker is up. Real browser, real stack with no worker at
// first (see browser_chat_test.ts).
import assert from "node:assert/strict";
import { BROWSER_TEST, bubbleTexts, lastReply, send, useBrowserStack } from "./support/page.ts";
import { PLAIN } from "./support/replies.ts";
import { waitFor } from "./support/wait.ts";

const shared = useBrowserStack({ workers: 0, reply: PLAIN, tokenDelayMs: 5 });

Deno.test(
  "no model available: the message fails with a reason, and Retry works once a worker is up",
  BROWSER_TEST,
  async () => {
    const { stack } = shared.ui;
    const page = await shared.ui.newPage(375, 740);
    await page.goto(stack.baseUrl);
    const banner = page.locator(".banner[role=status]");
    await banner.waitFor();
    assert.match(await banner.textContent() ?? "", /not fully available/);
    await page.getByLabel("Your name").fill("Lin");
    await page.getByRole("button", { name: "Start chatting" }).click();
    await send(page, "hello?");

    // The error frame's message shows on the failed message, which can be retried, and is read out.
    const failed = page.locator(".msg-user[data-state=failed]");
    await failed.waitFor();
    const why = (await failed.locator(".note-error").textContent() ?? "").replace(/Retry$/, "");
    assert.ok(why.length > 10, `the message says why: ${why}`);
    assert.equal(await page.locator("div.sr-only[aria-live=polite]").textContent(), why);
    assert.equal(await page.locator(".msg-assistant").count(), 0, "no empty reply is left behind");
    assert.equal(await page.locator(".send").textContent(), "Send", "the chat is usable again");

    await stack.startWorker();
    await waitFor(
      async () => {
        const res = await fetch(`${stack.baseUrl}/api/health`);
        await res.body?.cancel();
        return res.ok;
      },
      "a worker",
      30_000,
    );
    await failed.getByRole("button", { name: "Retry" }).click();
    await page.locator(".msg-assistant[data-state=done]").waitFor();
    assert.equal(await lastReply(page), PLAIN);
    assert.deepEqual((await bubbleTexts(page)).map((b) => b.role), ["user", "assistant"]);
    await banner.waitFor({ state: "detached" });
  },
);

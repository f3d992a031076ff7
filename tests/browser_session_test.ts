// The session's lifetime in a real browser, with SESSION_TTL_SECONDS at 3: an idle open tab keeps
// its session alive well past that, and once the session is gone anyway the expiry screen offers
// the conversation the page still shows as a download (see browser_chat_test.ts for the stack).
import assert from "node:assert/strict";
import { sessionKeyList, sessionKeys } from "../lib/redis/keys.ts";
import {
  BROWSER_TEST,
  bubbleTexts,
  send,
  sendAndWait,
  signIn,
  useBrowserStack,
} from "./support/page.ts";
import { PLAIN, reply, TOKEN_DELAY_MS } from "./support/replies.ts";
import { waitFor } from "./support/wait.ts";

const TTL_S = 3;
const shared = useBrowserStack({
  reply,
  tokenDelayMs: TOKEN_DELAY_MS,
  env: { SESSION_TTL_SECONDS: String(TTL_S) },
});

Deno.test("an idle open tab outlives the session TTL", BROWSER_TEST, async () => {
  const page = await shared.ui.newPage();
  await signIn(page, shared.ui.stack.baseUrl);
  await sendAndWait(page, "before the wait");
  await page.waitForTimeout(TTL_S * 1000 * 3); // nobody types, nothing is requested
  assert.equal(await page.getByRole("heading", { name: "Session expired" }).count(), 0);
  await sendAndWait(page, "after the wait");
  assert.equal((await bubbleTexts(page)).length, 4);
  await page.reload(); // the server still has all of it
  await page.locator(".msg-assistant").nth(1).waitFor();
  assert.equal((await bubbleTexts(page)).length, 4);
});

Deno.test("the expiry screen offers the conversation as a download", BROWSER_TEST, async () => {
  const page = await shared.ui.newPage();
  await signIn(page, shared.ui.stack.baseUrl);
  await sendAndWait(page, "keep this question");
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem("chat.session")!).token);
  await shared.ui.stack.redis.del(...sessionKeyList(token)); // what expiry does
  await page.getByRole("heading", { name: "Session expired" }).waitFor();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download this chat" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /\.md$/);
  const text = await Deno.readTextFile((await download.path())!);
  assert.ok(text.includes("keep this question"), text);
  assert.ok(text.includes(PLAIN), text);
});

Deno.test(
  "Retry after expiry starts a new session and sends what was typed",
  BROWSER_TEST,
  async () => {
    const page = await shared.ui.newPage();
    await signIn(page, shared.ui.stack.baseUrl);
    const token = await page.evaluate(() =>
      JSON.parse(localStorage.getItem("chat.session")!).token
    );
    // The open socket refreshes the session every second (a TTL of 3 s): one refresh between the
    // expiry and the typing would end the socket before anything was typed. Expire it right after
    // a refresh, so the next is most of a second away.
    const { redis } = shared.ui.stack;
    let last = Infinity;
    await waitFor(
      async () => {
        const left = await redis.pttl(sessionKeys(token).session);
        const refreshed = left > last + 50;
        last = left;
        return refreshed;
      },
      "a keep-alive refresh",
      10_000,
      { intervalMs: 20 },
    );
    await redis.del(...sessionKeyList(token));
    await send(page, "typed just as it expired");
    const failed = page.locator(".msg-user[data-state=failed]");
    await failed.waitFor();
    await page.getByRole("heading", { name: "Session expired" }).waitFor();
    await failed.getByRole("button", { name: "Retry" }).click();
    await page.locator(".msg-assistant[data-state=done]").waitFor();
    assert.deepEqual(await bubbleTexts(page), [
      { role: "user", text: "typed just as it expired" },
      { role: "assistant", text: PLAIN },
    ]);
    const fresh = await page.evaluate(() =>
      JSON.parse(localStorage.getItem("chat.session")!).token
    );
    assert.notEqual(fresh, token);
  },
);

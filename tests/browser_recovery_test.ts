// When the connection is lost: the web server restarts or the page reloads in the middle of a
// reply (the reply completes once, in order), or the session expires (a clear notice and a
// one-click new session). Real browser, real stack (see browser_chat_test.ts).
import assert from "node:assert/strict";
import { sessionKeys } from "../lib/redis/keys.ts";
import type { OpenAIRequestBody } from "./fixtures/model_servers.ts";
import {
  badgeStates,
  BROWSER_TEST,
  lastReply,
  lastReplyState,
  pageHistory,
  recordReplies,
  seenTexts,
  send,
  signIn,
  useBrowserStack,
} from "./support/page.ts";
import { lastUser, LONG, reply, RESTART, TOKEN_DELAY_MS } from "./support/replies.ts";
import { waitFor } from "./support/wait.ts";

const shared = useBrowserStack({ reply, tokenDelayMs: TOKEN_DELAY_MS });

Deno.test(
  "server restarted during a reply: the page reconnects, the reply completes once",
  BROWSER_TEST,
  async () => {
    const { stack } = shared.ui;
    const page = await shared.ui.newPage();
    await signIn(page, stack.baseUrl);
    await recordReplies(page);
    const repliesBefore = await page.locator(".msg-assistant").count();
    await send(page, "restart during this");
    await waitFor(async () => (await lastReply(page)).length > 30, "some streamed text");
    await stack.restartServer();
    await waitFor(async () => await lastReplyState(page) === "done", "the reply to finish", 30_000);
    assert.equal(await lastReply(page), RESTART);
    assert.equal(await page.locator(".msg-assistant").count(), repliesBefore + 1);
    const all = await seenTexts(page);
    // From the new reply's typing indicator on (before it, the previous reply was the newest).
    const seen = all.slice(all.indexOf("<typing>") + 1);
    assert.ok(seen.length > 3, `the reply streamed: ${JSON.stringify(all)}`);
    for (const s of seen) {
      assert.ok(RESTART.startsWith(s), `never duplicated or out of order: ${s}`);
    }
    const states = await badgeStates(page);
    assert.ok(states.some((s) => s !== "open"), `the badge showed the outage: ${states}`);
    assert.equal(states.at(-1), "open");
    const asked = stack.model!.requests.filter((r) =>
      r.path.endsWith("/chat/completions") &&
      lastUser(r.body as OpenAIRequestBody) === "restart during this"
    );
    assert.equal(asked.length, 1, "the turn was generated once");
    const stored = (await pageHistory(stack.baseUrl, page)).messages;
    assert.equal(stored.filter((m) => m.content === RESTART).length, 1);
  },
);

Deno.test(
  "reload during a reply: the new page picks the reply up where it is",
  BROWSER_TEST,
  async () => {
    const page = await shared.ui.newPage();
    await signIn(page, shared.ui.stack.baseUrl);
    const before = await page.locator(".msg-assistant").count();
    await send(page, "long, then reload");
    await waitFor(async () => (await lastReply(page)).length > 30, "some streamed text");
    await page.reload();
    await page.locator(".msg-assistant").nth(before).waitFor();
    await recordReplies(page);
    await waitFor(async () => await lastReplyState(page) === "done", "the reply to finish");
    assert.equal(await lastReply(page), LONG);
    assert.equal(await page.locator(".msg-assistant").count(), before + 1);
    for (const s of (await seenTexts(page)).filter((s) => s !== "<typing>")) {
      assert.ok(LONG.startsWith(s), `never duplicated or out of order: ${s}`);
    }
  },
);

Deno.test(
  "an expired session: a clear notice and a one-click new session",
  BROWSER_TEST,
  async () => {
    const { stack } = shared.ui;
    const p = await shared.ui.newPage(375, 740);
    await p.goto(stack.baseUrl);
    await p.evaluate(() =>
      localStorage.setItem(
        "chat.session",
        JSON.stringify({ token: "no-such-token", name: "Grace" }),
      )
    );
    await p.reload();
    await p.getByRole("heading", { name: "Session expired" }).waitFor();
    await p.getByRole("button", { name: "Start a new session as Grace" }).click();
    await p.locator('.badge[data-state="open"]').waitFor();
    const token = await p.evaluate(() => JSON.parse(localStorage.getItem("chat.session")!).token);
    assert.notEqual(token, "no-such-token");

    // The session vanishes while the page is open: the next message gets the notice.
    await stack.redis.del(sessionKeys(token).session);
    await send(p, "are you there?");
    await p.getByRole("heading", { name: "Session expired" }).waitFor();
    await p.getByRole("button", { name: "Start a new session as Grace" }).waitFor();
    await p.getByText("Your session has expired").first().waitFor();
  },
);

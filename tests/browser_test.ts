// The chat page in a real browser (Debian chromium driven by playwright-core) against the real
// web server, worker and Redis, with a local model that streams one word every TOKEN_DELAY_MS.
// Also writes the README screenshots to docs/ and prints the bundle size and time to interactive.
import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import type { History } from "../lib/contract/payloads.ts";
import { sessionKeys } from "../lib/redis/keys.ts";
import { buildUi } from "../tasks/build.ts";
import { launchBrowser } from "./support/browser.ts";
import type { OpenAIRequestBody } from "./fixtures/model_servers.ts";
import { startStack } from "./support/stack.ts";

const TOKEN_DELAY_MS = 50;
const words = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(" ") + ".";

const PLAIN =
  "The quick brown fox jumps over the lazy dog while the calm river flows past the old mill.";
const LONG = words("stream", 80);
const RESTART = words("again", 90);
const XSS_REPLY =
  'Careful: <script>window.__xss=2</script> and <img src=x onerror="window.__xss=3"> stay text.';
const XSS_MESSAGE = '<img src=x onerror="window.__xss=1">';
const CODE = "export function greet(name: string): string {\n  return `Hello, ${name}!`;\n}";
const CODE_REPLY =
  `Here is a **small** function:\n\n\`\`\`ts\n${CODE}\n\`\`\`\n\nCall \`greet("Ada")\`:\n\n` +
  "- it is *pure*\n- it has no side effects";

function lastUser(body: OpenAIRequestBody): string {
  return body.messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
}

function reply(body: OpenAIRequestBody): string {
  const text = lastUser(body);
  if (text.startsWith("long")) return LONG;
  if (text.startsWith("restart")) return RESTART;
  if (text.includes("onerror")) return XSS_REPLY;
  if (text.includes("code")) return CODE_REPLY;
  return PLAIN;
}

const DOCS = new URL("../docs/", import.meta.url);

/** Records what the newest assistant bubble shows on every DOM change, plus the badge states. */
function recordReplies(page: Page) {
  return page.evaluate(() => {
    const w = globalThis as unknown as Record<string, unknown>;
    const seen: string[] = [];
    const states: string[] = [];
    let stopShown = false;
    w.__seen = seen;
    w.__states = states;
    w.__stopShown = () => stopShown;
    const record = () => {
      const bubbles = document.querySelectorAll(".msg-assistant");
      const b = bubbles[bubbles.length - 1];
      if (b) {
        const entry = b.querySelector(".typing")
          ? "<typing>"
          : (b.querySelector(".md")?.textContent ?? "").trim();
        if (entry !== seen[seen.length - 1]) seen.push(entry);
        if (b.getAttribute("data-state") === "streaming" && document.querySelector(".send.stop")) {
          stopShown = true;
        }
      }
      const state = document.querySelector(".badge")?.getAttribute("data-state") ?? "";
      if (state !== states[states.length - 1]) states.push(state);
    };
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
    });
  });
}

const seenTexts = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { __seen: string[] }).__seen.slice());

const lastReply = (page: Page) =>
  page.locator(".msg-assistant").last().locator(".md").textContent().then((t) => (t ?? "").trim());

const bubbleTexts = (page: Page) =>
  page.locator(".msg").evaluateAll((els) =>
    els.map((el) => ({
      role: el.getAttribute("data-role"),
      text: (el.querySelector(".plain, .md")?.textContent ?? "").trim(),
    }))
  );

async function readyMark(page: Page, name: string): Promise<number> {
  await page.waitForFunction((n) => performance.getEntriesByName(n).length > 0, name);
  return await page.evaluate((n) => performance.getEntriesByName(n)[0].startTime, name);
}

async function history(baseUrl: string, page: Page): Promise<History> {
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem("chat.session")!).token);
  const res = await fetch(`${baseUrl}/api/history`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  return await res.json();
}

async function waitUntil(check: () => Promise<boolean> | boolean, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function send(page: Page, text: string) {
  const box = page.getByLabel("Message");
  await box.fill(text);
  await box.press("Enter");
}

/** Sends a message and waits for its reply to be complete. */
async function sendAndWait(page: Page, text: string, timeoutMs = 15_000) {
  const replies = page.locator(".msg-assistant");
  const before = await replies.count();
  await send(page, text);
  await waitUntil(
    async () =>
      await replies.count() === before + 1 &&
      await replies.last().getAttribute("data-state") === "done",
    `the reply to "${text}"`,
    timeoutMs,
  );
}

Deno.test({
  name: "chat page in chromium",
  // playwright-core keeps internal timers for a moment after the browser is closed.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const build = await buildUi({ quiet: true });
    const stack = await startStack({ reply, tokenDelayMs: TOKEN_DELAY_MS });
    const chromium = await launchBrowser();
    const contexts: BrowserContext[] = [];
    const newPage = async (width = 1280, height = 800) => {
      const context = await chromium.browser.newContext({ viewport: { width, height } });
      contexts.push(context);
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error("page error:", e.message));
      return page;
    };
    const timings: Record<string, number> = {};
    try {
      const page = await newPage();

      await t.step(
        "name -> token -> send: the reply grows word by word to the model's text",
        async () => {
          await page.goto(stack.baseUrl);
          timings["welcome (new visitor)"] = await readyMark(page, "chat:welcome-ready");
          // Keyboard only: the name field has focus, Enter submits, the composer then has focus.
          await page.getByLabel("Your name").waitFor();
          await page.keyboard.type("Ada");
          await page.keyboard.press("Enter");
          await page.getByLabel("Message").waitFor();
          assert.equal(await page.evaluate(() => document.activeElement?.id), "composer-input");
          await page.locator('.badge[data-state="open"]').waitFor();
          assert.equal((await history(stack.baseUrl, page)).name, "Ada");

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
          assert.equal(
            seen[0],
            "<typing>",
            `a typing indicator comes first: ${JSON.stringify(seen)}`,
          );
          const steps = seen.slice(1).filter((s) => s !== PLAIN);
          assert.ok(steps.length >= 3, `the reply grew in several steps: ${JSON.stringify(seen)}`);
          for (const s of steps) assert.ok(PLAIN.startsWith(s), `every step is a prefix: ${s}`);
          assert.ok(
            await page.evaluate(() =>
              (globalThis as unknown as { __stopShown(): boolean }).__stopShown()
            ),
          );
          assert.equal(await page.locator(".send").textContent(), "Send");
          assert.match(
            await page.locator("div.sr-only[aria-live=polite]").textContent() ?? "",
            /quick brown fox/,
          );
        },
      );

      await t.step("reload: the history is back, in order, once", async () => {
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

      await t.step(
        "Stop in the middle of a reply: generation halts, the partial reply stays",
        async () => {
          const abortedBefore = stack.model!.aborted;
          await send(page, "long reply please");
          await waitUntil(async () => (await lastReply(page)).length > 40, "some streamed text");
          await page.getByRole("button", { name: "Stop" }).click();
          await page.locator(".msg-assistant[data-state=stopped]").waitFor();
          const partial = await lastReply(page);
          assert.ok(partial.length > 40 && partial.length < LONG.length, `partial: ${partial}`);
          assert.ok(
            LONG.startsWith(partial),
            "the partial reply is the start of the model's output",
          );
          await waitUntil(
            () => stack.model!.aborted > abortedBefore,
            "the model stream to be cancelled",
          );
          await page.waitForTimeout(4 * TOKEN_DELAY_MS * 3);
          assert.equal(await lastReply(page), partial, "no text arrives after the stop");
          const stored = (await history(stack.baseUrl, page)).messages.at(-1)!;
          assert.equal(stored.role, "assistant");
          assert.equal(stored.content, partial);
          assert.equal(await page.locator(".send").textContent(), "Send");
        },
      );

      await t.step(
        "HTML from the user and a <script> from the model render as inert text",
        async () => {
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
          await page.reload(); // and rendered from the history
          await page.locator(".msg-assistant").nth(2).waitFor();
          assert.equal(await page.locator(".msg-assistant").count(), 3);
          await check();
        },
      );

      await t.step("Markdown: highlighted code with a copy button", async () => {
        await sendAndWait(page, "show me some code");
        const last = page.locator(".msg-assistant").last();
        assert.equal(await last.locator("strong").textContent(), "small");
        assert.equal(await last.locator("li").count(), 2);
        assert.equal(await last.locator("pre code").textContent(), CODE);
        assert.ok(
          await last.locator("pre code .hljs-keyword").count() > 0,
          "keywords are highlighted",
        );
        await page.context().grantPermissions(["clipboard-read", "clipboard-write"], {
          origin: stack.baseUrl,
        });
        await last.getByRole("button", { name: "Copy code" }).click();
        await last.getByRole("button", { name: "Copy code" }).filter({ hasText: "Copied" })
          .waitFor();
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), CODE);
      });

      await t.step("the newest text stays in view unless the reader scrolled up", async () => {
        await page.setViewportSize({ width: 375, height: 560 });
        const replies = await page.locator(".msg-assistant").count();
        await send(page, "long again");
        const scroller = page.locator(".scroller");
        const gap = () =>
          scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
        await waitUntil(async () => (await lastReply(page)).length > 60, "streamed text");
        assert.ok(await gap() < 48, "follows the reply");
        const box = (await scroller.boundingBox())!;
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.mouse.wheel(0, -5000);
        await page.getByRole("button", { name: /Jump to latest/ }).waitFor();
        await waitUntil(async () => await scroller.evaluate((el) => el.scrollTop) === 0, "the top");
        const length = (await lastReply(page)).length;
        await waitUntil(async () => (await lastReply(page)).length > length + 20, "more text");
        assert.equal(await scroller.evaluate((el) => el.scrollTop), 0, "stays where the reader is");
        await page.getByRole("button", { name: /Jump to latest/ }).click();
        assert.ok(await gap() < 48, "back at the newest text");
        await waitUntil(
          async () =>
            await page.locator(".msg-assistant").count() === replies + 1 &&
            await page.locator(".msg-assistant").last().getAttribute("data-state") === "done",
          "the reply",
        );
        await page.setViewportSize({ width: 1280, height: 800 });
      });

      await t.step(
        "server restarted during a reply: the page reconnects, the reply completes once",
        async () => {
          await recordReplies(page);
          const repliesBefore = await page.locator(".msg-assistant").count();
          await send(page, "restart during this");
          await waitUntil(async () => (await lastReply(page)).length > 30, "some streamed text");
          await stack.restartServer();
          await waitUntil(
            async () =>
              await page.locator(".msg-assistant").last().getAttribute("data-state") === "done",
            "the reply to finish",
            30_000,
          );
          assert.equal(await lastReply(page), RESTART);
          assert.equal(await page.locator(".msg-assistant").count(), repliesBefore + 1);
          const all = await seenTexts(page);
          // From the new reply's typing indicator on (before it, the previous reply was the newest).
          const seen = all.slice(all.indexOf("<typing>") + 1);
          assert.ok(seen.length > 3, `the reply streamed: ${JSON.stringify(all)}`);
          for (const s of seen) {
            assert.ok(RESTART.startsWith(s), `never duplicated or out of order: ${s}`);
          }
          const states = await page.evaluate(() =>
            (globalThis as unknown as { __states: string[] }).__states
          );
          assert.ok(
            states.some((s) => s !== "open"),
            `the badge showed the outage: ${states}`,
          );
          assert.equal(states.at(-1), "open");
          const asked = stack.model!.requests.filter((r) =>
            r.path.endsWith("/chat/completions") &&
            lastUser(r.body as OpenAIRequestBody) === "restart during this"
          );
          assert.equal(asked.length, 1, "the turn was generated once");
          const stored = (await history(stack.baseUrl, page)).messages;
          assert.equal(stored.filter((m) => m.content === RESTART).length, 1);
        },
      );

      await t.step(
        "reload during a reply: the new page picks the reply up where it is",
        async () => {
          const before = await page.locator(".msg-assistant").count();
          await send(page, "long, then reload");
          await waitUntil(async () => (await lastReply(page)).length > 30, "some streamed text");
          await page.reload();
          await page.locator(".msg-assistant").nth(before).waitFor();
          await recordReplies(page);
          await waitUntil(
            async () =>
              await page.locator(".msg-assistant").last().getAttribute("data-state") === "done",
            "the reply to finish",
          );
          assert.equal(await lastReply(page), LONG);
          assert.equal(await page.locator(".msg-assistant").count(), before + 1);
          for (const s of (await seenTexts(page)).filter((s) => s !== "<typing>")) {
            assert.ok(LONG.startsWith(s), `never duplicated or out of order: ${s}`);
          }
        },
      );

      await t.step("an expired session: a clear notice and a one-click new session", async () => {
        const p = await newPage(375, 740);
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
        const token = await p.evaluate(() =>
          JSON.parse(localStorage.getItem("chat.session")!).token
        );
        assert.notEqual(token, "no-such-token");

        // The session vanishes while the page is open: the next message gets the notice.
        await stack.redis.del(sessionKeys(token).session);
        await send(p, "are you there?");
        await p.getByRole("heading", { name: "Session expired" }).waitFor();
        await p.getByRole("button", { name: "Start a new session as Grace" }).waitFor();
        await p.getByText("Your session has expired").first().waitFor();
      });

      await t.step("screenshots at 375 px and 1280 px, light and dark", async () => {
        const shots = await newPage(1280, 800);
        await shots.goto(stack.baseUrl);
        await shots.getByLabel("Your name").fill("Ada");
        await shots.getByLabel("Your name").press("Enter");
        await send(shots, "Hi! Can you show me some code?");
        await shots.locator(".msg-assistant[data-state=done]").waitFor();
        for (const scheme of ["light", "dark"] as const) {
          await shots.emulateMedia({ colorScheme: scheme });
          for (const [width, height] of [[375, 740], [1280, 800]]) {
            await shots.setViewportSize({ width, height });
            await shots.waitForTimeout(100);
            await shots.screenshot({ path: new URL(`chat-${width}-${scheme}.png`, DOCS).pathname });
          }
        }
      });

      const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
      console.log(
        `UI JavaScript gzipped: ${kb(build.initialGzip)} before interactive, ${
          kb(build.totalGzip)
        } in all`,
      );
      for (const [what, ms] of Object.entries(timings)) {
        console.log(`page load -> interactive, ${what}: ${ms.toFixed(0)} ms`);
      }
    } finally {
      for (const c of contexts) await c.close().catch(() => {});
      await chromium.close();
      await stack.stop();
    }
  },
});

Deno.test({
  name: "chat page in chromium: no model available",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await buildUi({ quiet: true });
    const stack = await startStack({ workers: 0, reply: PLAIN, tokenDelayMs: 5 });
    const chromium = await launchBrowser();
    const context = await chromium.browser.newContext({ viewport: { width: 375, height: 740 } });
    try {
      const page = await context.newPage();
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
      assert.equal(
        await page.locator(".msg-assistant").count(),
        0,
        "no empty reply is left behind",
      );
      assert.equal(await page.locator(".send").textContent(), "Send", "the chat is usable again");

      await stack.startWorker();
      await waitUntil(
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
    } finally {
      await context.close().catch(() => {});
      await chromium.close();
      await stack.stop();
    }
  },
});

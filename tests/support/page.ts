// The chat page in Chromium for browser tests (and the README screenshots): the whole stack plus
// a browser, fresh pages that each start with empty storage (so a session of their own), and
// helpers that read and drive the page the way a user would.
import type { BrowserContext, Page } from "playwright-core";
import type { History } from "../../lib/contract/payloads.ts";
import { type BuildReport, buildUi } from "../../tasks/build.ts";
import { launchBrowser } from "./browser.ts";
import { fetchHistory } from "./chat.ts";
import { type Stack, type StackOptions, startStack } from "./stack.ts";
import { waitFor } from "./wait.ts";

/** Test options for browser tests: playwright-core keeps internal timers a moment after a page closes. */
export const BROWSER_TEST = { sanitizeOps: false, sanitizeResources: false };

export interface BrowserStack {
  stack: Stack;
  /** The UI bundle as built for this run (sizes for the printed figures). */
  build: BuildReport | null;
  /** A page in a new browser context: empty storage, so a new visitor. */
  newPage(width?: number, height?: number): Promise<Page>;
  /** Closes every page opened so far (run it after each test). */
  closePages(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the UI (unless `build: false`), starts the stack and Chromium. */
/**
 * This test file's stack and browser: started before its first test, its pages closed after each
 * test, all of it closed after the last one (once `beforeClose` has printed what it measured).
 */
export function useBrowserStack(
  opts: StackOptions & { build?: boolean },
  beforeClose?: (ui: BrowserStack) => void,
): { readonly ui: BrowserStack } {
  const shared = {} as { ui: BrowserStack };
  Deno.test.beforeAll(async () => {
    shared.ui = await startBrowserStack(opts);
  });
  Deno.test.afterEach(async () => {
    await shared.ui?.closePages();
  });
  Deno.test.afterAll(async () => {
    if (shared.ui) beforeClose?.(shared.ui);
    await shared.ui?.close();
  });
  return shared;
}

export async function startBrowserStack(
  opts: StackOptions & { build?: boolean },
): Promise<BrowserStack> {
  const build = opts.build === false ? null : await buildUi({ quiet: true });
  const stack = await startStack(opts);
  const chromium = await launchBrowser().catch(async (err) => {
    await stack.stop();
    throw err;
  });
  let contexts: BrowserContext[] = [];
  const closePages = async () => {
    const open = contexts;
    contexts = [];
    for (const c of open) await c.close().catch(() => {});
  };
  return {
    stack,
    build,
    async newPage(width = 1280, height = 800) {
      const context = await chromium.browser.newContext({ viewport: { width, height } });
      contexts.push(context);
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error("page error:", e.message));
      return page;
    },
    closePages,
    async close() {
      await closePages();
      await chromium.close();
      await stack.stop();
    },
  };
}

/** Opens the chat as a new visitor and starts a session as `name`; returns once it is connected. */
export async function signIn(page: Page, baseUrl: string, name = "Ada"): Promise<void> {
  await page.goto(baseUrl);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Your name").press("Enter");
  await page.getByLabel("Message").waitFor();
  await page.locator('.badge[data-state="open"]').waitFor();
}

/** Types `text` into the composer and presses Enter. */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel("Message");
  await box.fill(text);
  await box.press("Enter");
}

/** Sends a message and waits for its reply to be complete. */
export async function sendAndWait(page: Page, text: string, timeoutMs = 15_000): Promise<void> {
  const replies = page.locator(".msg-assistant");
  const before = await replies.count();
  await send(page, text);
  await waitFor(
    async () =>
      await replies.count() === before + 1 &&
      await replies.last().getAttribute("data-state") === "done",
    `the reply to "${text}"`,
    timeoutMs,
  );
}

/** The text of the newest assistant bubble. */
export const lastReply = (page: Page): Promise<string> =>
  page.locator(".msg-assistant").last().locator(".md").textContent().then((t) => (t ?? "").trim());

/** The newest assistant bubble's data-state: streaming, done, stopped... */
export const lastReplyState = (page: Page): Promise<string | null> =>
  page.locator(".msg-assistant").last().getAttribute("data-state");

/** Every bubble on the page, in order. */
export const bubbleTexts = (page: Page): Promise<Array<{ role: string | null; text: string }>> =>
  page.locator(".msg").evaluateAll((els) =>
    els.map((el) => ({
      role: el.getAttribute("data-role"),
      text: (el.querySelector(".plain, .md")?.textContent ?? "").trim(),
    }))
  );

/** When the page set the performance mark `name` (ms since navigation): time to interactive. */
export async function readyMark(page: Page, name: string): Promise<number> {
  await page.waitForFunction((n) => performance.getEntriesByName(n).length > 0, name);
  return await page.evaluate((n) => performance.getEntriesByName(n)[0].startTime, name);
}

/** The stored history of the page's session (its token from localStorage). */
export async function pageHistory(baseUrl: string, page: Page): Promise<History> {
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem("chat.session")!).token);
  return await fetchHistory(baseUrl, token);
}

/**
 * Starts recording, on every DOM change, what the newest assistant bubble shows ("<typing>" for
 * the typing indicator) and the connection badge's state; read them with seenTexts, badgeStates
 * and stopWasShown. Recording lasts until the page navigates.
 */
export function recordReplies(page: Page): Promise<void> {
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

/** What the newest reply showed, change by change, since recordReplies. */
export const seenTexts = (page: Page): Promise<string[]> =>
  page.evaluate(() => (globalThis as unknown as { __seen: string[] }).__seen.slice());

/** The badge states, change by change, since recordReplies. */
export const badgeStates = (page: Page): Promise<string[]> =>
  page.evaluate(() => (globalThis as unknown as { __states: string[] }).__states.slice());

/** Whether the Stop button was showing while a reply streamed, since recordReplies. */
export const stopWasShown = (page: Page): Promise<boolean> =>
  page.evaluate(() => (globalThis as unknown as { __stopShown(): boolean }).__stopShown());

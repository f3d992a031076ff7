// Writes docs/api-reference.png, the README's picture of /docs, and fails if the page broke the
// Content-Security-Policy (any violation shows in the console). The reference needs no Redis, so
// the web app runs in-process with an unreachable one.
//   deno run -A tests/docs_screenshot.ts
import { loadConfig } from "../lib/config.ts";
import { configureLogging } from "../lib/log.ts";
import { createDeps } from "../lib/server/services.ts";
import { createApp } from "../main.ts";
import { launchBrowser } from "./support/browser.ts";

const OUT = new URL("../docs/api-reference.png", import.meta.url).pathname;

configureLogging({ format: "pretty", level: "error" });
const deps = createDeps(loadConfig({}), { url: "http://127.0.0.1:9", token: "t" });
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  createApp(deps).fetch,
);
const { browser, close } = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(`http://127.0.0.1:${server.addr.port}/docs`);
  await page.locator(".opblock-tag-section").first().waitFor();
  // Open one operation so the picture shows what a reader gets: parameters and responses.
  await page.locator("#operations-sessions-post_api_token .opblock-summary").click();
  await page.locator("#operations-sessions-post_api_token .responses-wrapper").waitFor();
  await page.screenshot({ path: OUT, fullPage: false });
  console.log(`wrote ${OUT}`);
  if (problems.length) {
    console.error(`the page reported problems:\n${problems.join("\n")}`);
    Deno.exitCode = 1;
  }
} finally {
  await close();
  deps.relay.close();
  await server.shutdown();
}

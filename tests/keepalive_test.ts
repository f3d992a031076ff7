// An open socket keeps its session alive (one TOUCH_SESSION per socket per interval), and a
// session with no socket and no requests still expires on time. SESSION_TTL_SECONDS is 3 here.
import assert from "node:assert/strict";
import { keepAliveMs } from "../lib/server/chat_connection.ts";
import { doneOf } from "./support/chat.ts";
import { ChatClient, newSession, type Stack, startStack } from "./support/stack.ts";

const TTL_S = 3;
let stack: Stack;
Deno.test.beforeAll(async () => {
  stack = await startStack({ tokenDelayMs: 5, env: { SESSION_TTL_SECONDS: String(TTL_S) } });
});
Deno.test.afterAll(async () => {
  await stack?.stop();
});
const opts = { sanitizeOps: false, sanitizeResources: false };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const historyStatus = async (token: string) => {
  const res = await fetch(`${stack.baseUrl}/api/history?token=${token}`);
  await res.body?.cancel();
  return res.status;
};

Deno.test("the keep-alive: once a minute, or a third of a short TTL", () => {
  assert.equal(keepAliveMs(3600), 60_000);
  assert.equal(keepAliveMs(180), 60_000);
  assert.equal(keepAliveMs(3), 1000);
});

Deno.test("an idle open socket outlives the TTL; a session without one expires", opts, async () => {
  const [kept, left] = await Promise.all([newSession(stack.baseUrl), newSession(stack.baseUrl)]);
  const client = await ChatClient.connect(stack.baseUrl, kept);
  await pause(TTL_S * 1000 * 2.5);
  assert.equal(await historyStatus(left), 401, "no socket, no activity: gone");
  assert.equal(client.open, true);
  client.send({ type: "message", id: "k1", content: "still here" });
  await client.waitFor(doneOf("k1"));
  assert.equal(await historyStatus(kept), 200);
  client.close();
});

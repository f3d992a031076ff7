// Several web servers and several workers at once: every reply reaches the socket waiting for
// it, whichever server holds it, and every turn is answered exactly once.
import assert from "node:assert/strict";
import { History } from "../lib/contract/payloads.ts";
import { assertDone, doneOf, framesFor, replyText, sendTurn } from "./support/chat.ts";
import { echoReply } from "./fixtures/model_servers.ts";
import { ChatClient, newSession, startStack } from "./support/stack.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "2 web servers, 2 workers, 8 sessions: each reply once, to its own socket",
  opts,
  async () => {
    const stack = await startStack({ servers: 2, workers: 2, tokenDelayMs: 5 });
    try {
      const sessions = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const base = stack.baseUrls[i % 2];
          const token = await newSession(base, `user${i}`);
          return { i, token, client: await ChatClient.connect(base, token) };
        }),
      );
      await Promise.all(sessions.map(async ({ i, client }) => {
        for (let t = 0; t < 3; t++) {
          const done = await sendTurn(client, `turn-${t}`, `session ${i} turn ${t}`);
          assertDone(done, stack.logs);
          assert.equal(done.message.content, echoReply(`session ${i} turn ${t}`));
        }
      }));
      for (const { i, token, client } of sessions) {
        assert.equal(client.frames.filter((f) => f.type === "done").length, 3);
        for (let t = 0; t < 3; t++) {
          assert.equal(replyText(client.frames, `turn-${t}`), echoReply(`session ${i} turn ${t}`));
        }
        const history = History.parse(
          await (await fetch(`${stack.baseUrl}/api/history?token=${token}`)).json(),
        );
        assert.equal(history.messages.length, 6);
        client.close();
      }
    } finally {
      await stack.stop();
    }
  },
);

Deno.test("a reply started on one web server is resumed on another", opts, async () => {
  const long = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ");
  const stack = await startStack({ servers: 2, workers: 1, tokenDelayMs: 20, reply: long });
  try {
    const token = await newSession(stack.baseUrls[0]);
    const first = await ChatClient.connect(stack.baseUrls[0], token);
    first.send({ type: "message", id: "x", content: "go" });
    await first.waitFor(() => framesFor(first, "x", "delta").length >= 5);
    first.close();
    const seen = framesFor(first, "x", "delta");
    const second = await ChatClient.connect(stack.baseUrls[1], token);
    second.send({ type: "resume", after: seen.at(-1)!.event });
    const done = await second.waitFor(doneOf("x"), 20_000);
    assert.equal(done.message.content, long);
    assert.equal(replyText([...seen, ...framesFor(second, "x", "delta")], "x"), long);
    second.close();
  } finally {
    await stack.stop();
  }
});

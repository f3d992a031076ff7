// A turn handed to a worker that is gone (its announcement not yet expired) is not stranded: the
// hand-off reaches nobody, so the turn goes back to wait for the next worker that reads.
import assert from "node:assert/strict";
import { RespConnection } from "../dev/resp.ts";
import { doneOf } from "./support/chat.ts";
import { ChatClient, newSession, startStack } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "a turn sent while the only worker restarts is answered once the new one is up",
  opts,
  async () => {
    // A claim takes 30 s here: a turn stranded under the dead worker would time the test out.
    const stack = await startStack({ reply: "Back.", env: { WORKER_CLAIM_IDLE_MS: "30000" } });
    const { port, password } = stack.redisServer;
    const resp = await RespConnection.connect(port, { password });
    try {
      const client = await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
      client.send({ type: "message", id: "r0", content: "hello" });
      await client.waitFor(doneOf("r0"));
      await stack.workers.shift()!.kill();
      await waitFor(async () => {
        const [channels] = await resp.send([["PUBSUB", "CHANNELS", "chat:wk:*"]]);
        return (channels as unknown[]).length === 0;
      }, "the dead worker's subscription to end");
      client.send({ type: "message", id: "r1", content: "are you there?" });
      await client.waitFor((f) => f.id === "r1" && f.type === "ack");
      await stack.startWorker();
      const done = await client.waitFor(doneOf("r1"), 15_000);
      assert.equal(done.message.content, "Back.");
      client.close();
    } finally {
      await resp.close();
      await stack.stop();
    }
  },
);

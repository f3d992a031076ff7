// The worker's intake with a hand-off source under the test's control: each (re)subscribe makes
// the worker forget the conversations it keeps (a hand-off may have been lost meanwhile) and look
// at its own pending turns, and a hand-off reaches `take` with its conversation.
import assert from "node:assert/strict";
import type { Handoff } from "../lib/redis/handoff.ts";
import type { HandoffHandlers } from "../lib/redis/subscription.ts";
import type { QueuedTurn, TurnQueue } from "../lib/redis/turn_queue.ts";
import { TurnIntake } from "../lib/worker/turn_intake.ts";

Deno.test("a resubscribe clears what the worker keeps before any later hand-off is taken", async () => {
  const events: string[] = [];
  const queue = {
    ownTurns: () => {
      events.push("own turns");
      return Promise.resolve([]);
    },
    poll: () => Promise.resolve({ claimed: [], fresh: [] }),
  } as unknown as TurnQueue;
  let handlers!: HandoffHandlers;
  const intake = new TurnIntake(queue, {
    consumer: "w-test",
    claimIdleMs: 60_000,
    tickMs: 60_000,
    announceEveryMs: 60_000,
    heartbeatEveryMs: 60_000,
    free: () => 4,
    running: () => [],
    announcement: () => ({ model: "m", ready: true, until: 0, capacity: 4 }),
    take: (turn: QueuedTurn, _claimed: boolean, handoff?: Handoff) =>
      events.push(`take ${turn.turn} ${handoff?.tail ? "tail" : "whole"}`),
    resubscribed: () => events.push("forget"),
    log: () => {},
  }, { start: (_consumer, h) => handlers = h, close: () => {} });
  const running = intake.run();
  const entry = (
    turn: string,
  ): Handoff["entry"] => ["1-1", ["token", "t", "turn", turn, "conv", "c"]];
  handlers.handed({ entry: entry("a"), members: [] });
  handlers.ready();
  handlers.handed({ entry: entry("b"), tail: { members: [], count: 0 } });
  await new Promise((r) => setTimeout(r, 50));
  intake.stop();
  await running;
  assert.deepEqual(events.slice(0, 3), ["take a whole", "forget", "take b tail"]);
  assert.ok(events.includes("own turns"), "and its own pending turns are looked at");
});

// The turn watch ends a turn only after a silence as long as its orphan time, however often
// progress arrived before, and a Stop ends it after the grace period even while deltas flow.
import assert from "node:assert/strict";
import { TurnWatch } from "../lib/server/turn_watch.ts";
import { waitFor } from "./support/wait.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("progress keeps a turn alive; silence ends it once", async () => {
  const ended: string[] = [];
  const watch = new TurnWatch((turn, mode) => {
    ended.push(`${turn}:${mode}`);
    return Promise.resolve("ended");
  }, 120);
  try {
    for (let i = 0; i < 12; i++) {
      watch.expect("t1");
      await sleep(30);
    }
    assert.deepEqual(ended, [], "a turn with progress every 30 ms was ended");
    await waitFor(() => ended.length > 0, "the silent turn to end", 2000);
    await sleep(200);
    assert.deepEqual(ended, ["t1:orphan"]);
    assert.equal(watch.watching, 0);
  } finally {
    watch.close();
  }
});

Deno.test("a stop ends the turn after its grace even while progress arrives", async () => {
  const ended: string[] = [];
  const watch = new TurnWatch(
    (turn, mode) => {
      ended.push(`${turn}:${mode}`);
      return Promise.resolve("ended");
    },
    10_000,
    100,
  );
  try {
    watch.expect("t2");
    watch.stopped("t2");
    for (let i = 0; i < 10 && ended.length === 0; i++) {
      watch.expect("t2");
      await sleep(30);
    }
    await waitFor(() => ended.length > 0, "the stopped turn to end", 2000);
    assert.deepEqual(ended, ["t2:stop"]);
  } finally {
    watch.close();
  }
});

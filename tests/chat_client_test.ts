// The chat island's pure pieces: event ordering, delta placement, backoff, frame checks.
import assert from "node:assert/strict";
import { applyDelta, backoffDelay, isNewEvent } from "../islands/chat/events.ts";
import { compareStreamIds } from "../lib/contract/stream_ids.ts";
import { parseServerFrame } from "../islands/chat/wire.ts";

Deno.test("event ids compare numerically, part by part", () => {
  assert.equal(compareStreamIds("1700000000000-2", "1700000000000-10"), -1);
  assert.equal(compareStreamIds("1700000000001-0", "1700000000000-99"), 1);
  assert.equal(compareStreamIds("999-0", "1000-0"), -1); // a string compare would say 1
  assert.equal(compareStreamIds("5-3", "5-3"), 0);
  assert.equal(compareStreamIds("5", "5-0"), 0);
  assert.equal(compareStreamIds("007-1", "7-1"), 0);
  assert.equal(compareStreamIds("18446744073709551615-0", "18446744073709551614-9"), 1);
  assert.equal(compareStreamIds("0-18446744073709551615", "1-0"), -1);
  assert.equal(isNewEvent("5-1", null), true);
  assert.equal(isNewEvent("5-1", "5-1"), false);
  assert.equal(isNewEvent("5-0", "5-1"), false);
  assert.equal(isNewEvent("6-0", "5-9"), true);
});

Deno.test("a delta lands at its offset: appended, rewound for a retried turn, or a gap", () => {
  assert.deepEqual(applyDelta("Hello", 5, " world"), { kind: "applied", text: "Hello world" });
  assert.deepEqual(applyDelta("Hello wor", 0, "Hi"), { kind: "applied", text: "Hi" });
  assert.deepEqual(applyDelta("Hello wor", 6, "there"), { kind: "applied", text: "Hello there" });
  assert.deepEqual(applyDelta("Hello", 9, "!"), { kind: "gap" });
});

Deno.test("backoff grows exponentially, is capped, and is jittered", () => {
  const low = () => 0, high = () => 1;
  assert.equal(backoffDelay(0, low), 250);
  assert.equal(backoffDelay(0, high), 500);
  assert.equal(backoffDelay(3, low), 2000);
  assert.equal(backoffDelay(3, high), 4000);
  assert.equal(backoffDelay(30, high), 15_000);
  const spread = new Set(Array.from({ length: 20 }, () => backoffDelay(4)));
  assert.ok(spread.size > 1, "random jitter gives different delays");
});

Deno.test("server frames are checked before use", () => {
  const delta = { type: "delta", id: "t", text: "Hi", offset: 0, event: "1-0" };
  assert.deepEqual(parseServerFrame(JSON.stringify(delta)), delta);
  assert.equal(parseServerFrame(JSON.stringify({ ...delta, offset: -1 })), null);
  assert.equal(parseServerFrame(JSON.stringify({ ...delta, event: undefined })), null);
  const message = { id: "m", role: "assistant", content: "Hi", timestamp: "2025-01-01T00:00:00Z" };
  assert.ok(parseServerFrame(JSON.stringify({ type: "done", id: "t", message, event: "2-0" })));
  assert.equal(
    parseServerFrame(JSON.stringify({ type: "done", id: "t", message: { id: "m" }, event: "2-0" })),
    null,
  );
  assert.ok(
    parseServerFrame(JSON.stringify({ type: "error", code: "rate_limited", message: "x" })),
  );
  assert.equal(parseServerFrame(JSON.stringify({ type: "error", code: "x" })), null);
  assert.equal(parseServerFrame("not json"), null);
  assert.equal(parseServerFrame(JSON.stringify({ type: "surprise" })), null);
});

// The pipeline benchmark's throughput part: relayed tokens/s of 2,000-token replies, 1 and 20
// sessions, each reply checked to arrive whole and exactly once.
import type { Stack } from "../support/stack.ts";
import { newClients, pct, REPEATS, stackWithModel } from "./common.ts";

/**
 * `n` new sessions each asking for one long reply at once: tokens/s, and whether every reply
 * arrived whole and exactly once.
 */
async function longReplies(stack: Stack, n: number, words: string): Promise<[number, boolean]> {
  const clients = await newClients(stack, n);
  const t0 = performance.now();
  const ok = await Promise.all(clients.map(async (client) => {
    const id = crypto.randomUUID();
    client.send({ type: "message", id, content: "long" });
    const done = await client.waitFor((f) => f.id === id && f.type === "done", 120_000);
    let text = "";
    for (const f of client.frames) {
      if (f.type === "delta" && f.id === id) text = text.slice(0, f.offset) + f.text;
    }
    const dones = client.frames.filter((f) => f.type === "done" && f.id === id).length;
    return done.type === "done" && done.message.content === words && text === words &&
      dones === 1;
  }));
  const seconds = (performance.now() - t0) / 1000;
  for (const c of clients) c.close();
  return [2000 * n / seconds, ok.every(Boolean)];
}

/**
 * Relayed tokens/s of a running deployment: after one unmeasured reply (a process's first reply
 * runs its code before the JIT has compiled it, and a single 2,000-token reply is over in tens of
 * milliseconds), REPEATS times, printing each and the median.
 */
export async function throughput() {
  const words = Array.from({ length: 2000 }, (_, i) => ` t${i}`).join("");
  const { stack } = await stackWithModel(
    { reply: words, tokenDelayMs: 0 },
    { RATE_LIMIT_PER_MINUTE: "1000000", MAX_NEW_TOKENS: "4000" },
  );
  try {
    const [first] = await longReplies(stack, 1, words);
    console.log(
      `relayed tokens/s, the first 2,000-token reply of new processes: ${Math.round(first)} ` +
        `(not counted below)`,
    );
    for (const n of [1, 20]) {
      const runs: number[] = [];
      let exact = true;
      for (let i = 0; i < REPEATS; i++) {
        const [rate, ok] = await longReplies(stack, n, words);
        runs.push(rate);
        exact &&= ok;
      }
      console.log(
        `relayed tokens/s, 2,000-token replies, ${n} session(s): ${Math.round(pct(runs, 0.5))} ` +
          `(median of ${REPEATS}; each ${runs.map(Math.round).join(", ")}; ` +
          `every reply exactly once: ${exact})`,
      );
    }
  } finally {
    await stack.stop();
  }
}

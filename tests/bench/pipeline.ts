// `deno task bench`: what the pipeline adds on top of the model, measured with a local
// OpenAI-compatible server that answers instantly. Prints figures; asserts nothing.
//   turns/s and latency (WebSocket send -> first delta, send -> done) for 1 and 50 sessions;
//   Redis REST requests per second of an idle web server (one open socket) and an idle worker.
import { ChatClient, newSession, startStack } from "../support/stack.ts";

const TURNS_PER_SESSION = Number(Deno.env.get("BENCH_TURNS") ?? 20);
const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)];

const stack = await startStack({
  reply: "Hello! This is a short, instant reply of a dozen words or so.",
  tokenDelayMs: 0,
  env: { WORKER_CONCURRENCY: "32", RATE_LIMIT_PER_MINUTE: "100000", WORKER_CLAIM_IDLE_MS: "15000" },
});

async function session(turns: number, firsts: number[], dones: number[]) {
  const client = await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
  for (let i = 0; i < turns; i++) {
    const id = crypto.randomUUID();
    const t0 = performance.now();
    client.send({ type: "message", id, content: `question ${i}` });
    await client.waitFor((f) => f.id === id && f.type === "delta", 60_000);
    firsts.push(performance.now() - t0);
    await client.waitFor((f) => f.id === id && (f.type === "done" || f.type === "error"), 60_000);
    dones.push(performance.now() - t0);
    client.frames.length = 0;
  }
  client.close();
}

async function run(sessions: number) {
  await session(2, [], []); // warm up scripts and connections
  const firsts: number[] = [];
  const dones: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: sessions }, () => session(TURNS_PER_SESSION, firsts, dones)),
  );
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `${String(sessions).padStart(2)} concurrent session(s): ${
      (dones.length / seconds).toFixed(1)
    } turns/s; ` +
      `send->first delta p50 ${pct(firsts, 0.5).toFixed(1)} ms, p95 ${
        pct(firsts, 0.95).toFixed(1)
      } ms; ` +
      `send->done p50 ${pct(dones, 0.5).toFixed(1)} ms, p95 ${pct(dones, 0.95).toFixed(1)} ms ` +
      `(${dones.length} turns)`,
  );
}

async function idleRate(label: string, seconds: number) {
  await new Promise((r) => setTimeout(r, 3000)); // let back-off settle
  const before = stack.bridge.requests;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rate = (stack.bridge.requests - before) / seconds;
  console.log(`idle Redis REST requests/s, ${label}: ${rate.toFixed(2)}`);
}

console.log(`model server answers instantly; ${TURNS_PER_SESSION} turns per session`);
await run(1);
await run(50);
await idleRate("1 worker, no socket open", 10);
const idleClient = await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
await idleRate("1 worker + 1 web server holding 1 idle socket", 10);
idleClient.close();
await stack.stop();

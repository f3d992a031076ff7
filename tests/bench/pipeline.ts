// `deno task bench`: what the pipeline adds on top of the model, on this machine, with local model
// servers that speak OpenAI's protocol. Prints figures; asserts nothing.
//   added latency to the first delta (cold after idle, 1 / 50 / 200 sessions), REST requests and
//   Redis commands per turn, idle requests/s of a worker and of a web server, relayed tokens/s,
//   and the web server's memory for 1,000 idle sockets; and, to read them by, each process's CPU
//   per turn under load and one bare round trip between processes, hot and after idleness.
import { RespConnection } from "../../dev/resp.ts";
import { loadConfig } from "../../lib/config.ts";
import { createOpenAIProvider } from "../../lib/providers/openai.ts";
import { ChatClient, newSession, type Stack, startStack } from "../support/stack.ts";
import { CpuMeter } from "./process_cpu.ts";
import { ms, newClients, pct, REPEATS, sleep, stackWithModel } from "./common.ts";
import { throughput } from "./throughput.ts";

const FIRST_TOKEN_MS = 200;
const COLD_SAMPLES = Number(Deno.env.get("BENCH_COLD_SAMPLES") ?? 5);
const IDLE_SECONDS = Number(Deno.env.get("BENCH_IDLE_SECONDS") ?? 30);

/** Sends one turn; resolves with [send → first delta, send → done] in ms. */
async function turn(client: ChatClient, content: string): Promise<[number, number]> {
  const id = crypto.randomUUID();
  const t0 = performance.now();
  client.send({ type: "message", id, content });
  await client.waitFor((f) => f.id === id && f.type === "delta", 120_000);
  const first = performance.now() - t0;
  await client.waitFor((f) => f.id === id && (f.type === "done" || f.type === "error"), 120_000);
  const done = performance.now() - t0;
  client.frames.length = 0;
  return [first, done];
}

/**
 * The model's own time to its first token, as a client calling it directly sees it (the worker's
 * own provider code: fetch and SSE parsing): the fake server's 200 ms timer plus its HTTP. "Added"
 * is what the pipeline takes beyond this median.
 */
async function modelOwn(url: string): Promise<number> {
  const provider = createOpenAIProvider(loadConfig({ OPENAI_BASE_URL: url }));
  const samples: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    const messages = [{ id: "a", role: "user" as const, content: "direct", timestamp: "" }];
    const signal = new AbortController().signal;
    for await (const _ of provider.generate({ messages, signal })) {
      samples.push(performance.now() - t0);
      break;
    }
  }
  await provider.close();
  return pct(samples, 0.5);
}

let own = FIRST_TOKEN_MS;

/** `n` new sessions, connected, then sending their turns at once; `cpu` meters the turns only. */
async function sessions(
  stack: Stack,
  n: number,
  turns: number,
  cpu?: CpuMeter,
): Promise<number[]> {
  const clients = await newClients(stack, n);
  const added: number[] = [];
  await cpu?.start();
  await Promise.all(clients.map(async (client) => {
    for (let i = 0; i < turns; i++) added.push((await turn(client, `q${i}`))[0] - own);
  }));
  await cpu?.stop();
  for (const c of clients) c.close();
  return added;
}

/**
 * `n` new sessions sending their turns at once, REPEATS times (new sessions each time): every
 * repetition's p50 / p99, and their medians. The first repetition also pays for the worker's new
 * connections to the model (one per concurrent stream), which later ones reuse.
 */
async function burst(stack: Stack, n: number, turns: number, cpu?: CpuMeter) {
  const runs: [number, number][] = [];
  for (let i = 0; i < REPEATS; i++) {
    const added = await sessions(stack, n, turns, cpu);
    runs.push([pct(added, 0.5), pct(added, 0.99)]);
  }
  const each = runs.map(([p50, p99]) => `${p50.toFixed(1)} / ${p99.toFixed(1)}`).join(", ");
  const median = (i: 0 | 1) => pct(runs.map((r) => r[i]), 0.5);
  console.log(
    `${n} sessions, added: p50 ${ms(median(0))}, p99 ${ms(median(1))} ` +
      `(median of ${REPEATS}; each p50 / p99: ${each})`,
  );
}

/**
 * This machine's floor for the cold figure: one HTTP round trip to another process (the model
 * server's /models), hot and after 10 s of idleness. A turn crosses about a dozen processes' event
 * loops, and after idleness each wakes more slowly.
 */
async function roundTrips(modelUrl: string) {
  const once = async () => {
    const t0 = performance.now();
    await (await fetch(`${modelUrl}/models`)).arrayBuffer();
    return performance.now() - t0;
  };
  const hot: number[] = [];
  for (let i = 0; i < 30; i++) hot.push(await once());
  const cold: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(10_000);
    cold.push(await once());
  }
  console.log(
    `one HTTP round trip to another process: median ${ms(pct(hot, 0.5))} hot, ` +
      `${ms(pct(cold, 0.5))} after 10 s idle (this machine's floor, per hop)`,
  );
}

async function redisCommands(stack: Stack): Promise<number> {
  const conn = await RespConnection.connect(stack.redisServer.port);
  const [info] = await conn.send([["INFO", "commandstats"]]);
  await conn.close();
  const text = new TextDecoder().decode(info as Uint8Array);
  return [...text.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function latency() {
  const { stack, modelUrl, modelPid } = await stackWithModel({
    reply: "one two three four five six seven eight nine ten",
    firstTokenDelayMs: FIRST_TOKEN_MS,
  }, { RATE_LIMIT_PER_MINUTE: "1000000", WORKER_CLAIM_IDLE_MS: "15000" });
  try {
    own = await modelOwn(modelUrl);
    console.log(`the model's own first token, called directly: median ${ms(own)}`);
    const client = await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
    await turn(client, "warm up");
    const cold: number[] = [];
    for (let i = 0; i < COLD_SAMPLES; i++) {
      await sleep(10_000);
      cold.push((await turn(client, "after a pause"))[0] - own);
    }
    console.log(`first turn after 10 s idle, added: median ${ms(pct(cold, 0.5))} (${cold.length})`);
    const one: number[] = [];
    for (let i = 0; i < 50; i++) one.push((await turn(client, `q${i}`))[0] - own);
    console.log(`1 session, added: p50 ${ms(pct(one, 0.5))}, p99 ${ms(pct(one, 0.99))}`);

    const requests0 = stack.bridge.requests, commands0 = await redisCommands(stack);
    const N = 20;
    for (let i = 0; i < N; i++) await turn(client, `count ${i}`);
    const requests = (stack.bridge.requests - requests0) / N;
    const commands = (await redisCommands(stack) - commands0 - 1) / N;
    console.log(
      `per turn (1 session, 10-token reply): ${requests.toFixed(1)} REST requests, ` +
        `${commands.toFixed(1)} Redis commands`,
    );
    client.close();

    await burst(stack, 50, 10);
    const cpu = new CpuMeter({
      "web server": stack.servers[0].child.pid,
      worker: stack.workers[0].child.pid,
      redis: stack.redisServer.pid,
      model: modelPid,
      "clients and bridge": Deno.pid,
    });
    await burst(stack, 200, 5, cpu);
    const perTurn = cpu.perTurn(200 * 5 * REPEATS);
    if (perTurn) console.log(`CPU per turn in the 200-session bursts, ms: ${perTurn}`);
    await roundTrips(modelUrl);

    await sleep(5000);
    let before = stack.bridge.requests;
    await sleep(IDLE_SECONDS * 1000);
    const worker = (stack.bridge.requests - before) / IDLE_SECONDS;
    const idle = await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
    await sleep(3000);
    before = stack.bridge.requests;
    await sleep(IDLE_SECONDS * 1000);
    const both = (stack.bridge.requests - before) / IDLE_SECONDS;
    idle.close();
    console.log(
      `idle REST requests/s besides held subscriptions: worker ${worker.toFixed(3)}, ` +
        `web server holding a socket ${(both - worker).toFixed(3)}`,
    );
  } finally {
    await stack.stop();
  }
}

async function rssKb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
}

async function sockets() {
  const stack = await startStack({ reply: "ok" });
  try {
    const pid = stack.servers[0].child.pid;
    const tokens = await Promise.all(
      Array.from({ length: 1000 }, () => newSession(stack.baseUrl)),
    );
    await sleep(2000);
    const before = await rssKb(pid);
    const clients: ChatClient[] = [];
    for (let i = 0; i < tokens.length; i += 50) {
      clients.push(
        ...await Promise.all(
          tokens.slice(i, i + 50).map((t) => ChatClient.connect(stack.baseUrl, t)),
        ),
      );
    }
    await sleep(3000);
    const after = await rssKb(pid);
    console.log(
      `web server RSS growth for 1,000 idle sockets: ${((after - before) / 1024).toFixed(1)} MB`,
    );
    for (const c of clients) c.close();
  } finally {
    await stack.stop();
  }
}

console.log(
  `local OpenAI-compatible model, first token after ${FIRST_TOKEN_MS} ms ` +
    `("added": beyond the model's own first token, measured directly)`,
);
// BENCH_ONLY=throughput,sockets runs a part (latency, throughput, sockets); all by default.
const only = (Deno.env.get("BENCH_ONLY") ?? "latency,throughput,sockets").split(",");
if (only.includes("latency")) await latency();
if (only.includes("throughput")) await throughput();
if (only.includes("sockets")) await sockets();

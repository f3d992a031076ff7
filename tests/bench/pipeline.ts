// `deno task bench`: what the pipeline adds on top of the model, on this machine, with local model
// servers that speak OpenAI's protocol. Prints figures; asserts nothing.
//   added latency to the first delta (cold after idle, 1 / 50 / 200 sessions), REST requests and
//   Redis commands per turn, idle requests/s of a worker and of a web server, relayed tokens/s,
//   and the web server's memory for 1,000 idle sockets; and, to read them by, each process's CPU
//   per turn under load, one bare round trip between processes, hot and after idleness, and the
//   latency figures of a minimal relay (reference_relay.ts) on the same machine in the same run.
import { RespConnection } from "../../dev/resp.ts";
import { loadConfig } from "../../lib/config.ts";
import { createOpenAIProvider } from "../../lib/providers/openai.ts";
import { ChatClient, chatSocketUrl, newSession, type Stack, startStack } from "../support/stack.ts";
import { CpuMeter } from "./process_cpu.ts";
import { ms, newClient, pct, sleep, stackWithModel } from "./common.ts";
import { type Asker, type LatencyFigures, latencyFigures } from "./latency.ts";
import { startReferenceRelay } from "./reference_relay.ts";
import { SocketAsker } from "./socket_asker.ts";
import { throughput } from "./throughput.ts";

const FIRST_TOKEN_MS = 200;
const IDLE_SECONDS = Number(Deno.env.get("BENCH_IDLE_SECONDS") ?? 30);

/**
 * A new session's chat socket, asked as the latency figures ask: ms from sending to the first delta.
 */
async function productAsker(stack: Stack): Promise<Asker> {
  const url = chatSocketUrl(stack.baseUrl, await newSession(stack.baseUrl));
  return await SocketAsker.connect(url, (id, content) => ({ type: "message", id, content }));
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

/**
 * This machine's floor per hop: one HTTP round trip to another process (the model server's
 * /models), hot, after 200 ms idle (as every process on a turn's path is after the model's first
 * token) and after 10 s idle. A turn crosses about a dozen processes' event loops, and after
 * idleness each wakes, and runs its part, more slowly.
 */
async function roundTrips(modelUrl: string) {
  const once = async () => {
    const t0 = performance.now();
    await (await fetch(`${modelUrl}/models`)).arrayBuffer();
    return performance.now() - t0;
  };
  const after = async (idleMs: number, n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      // Hot means back to back: even sleep(0) would idle the process for a timer's tick.
      if (idleMs) await sleep(idleMs);
      out.push(await once());
    }
    return pct(out, 0.5);
  };
  const hot = await after(0, 30);
  const model = await after(FIRST_TOKEN_MS, 30);
  const cold = await after(10_000, 3);
  console.log(
    `one HTTP round trip to another process: median ${ms(hot)} hot, ` +
      `${ms(model)} after ${FIRST_TOKEN_MS} ms idle, ${ms(cold)} after 10 s idle ` +
      `(this machine's floor, per hop)`,
  );
}

async function redisCommands(stack: Stack): Promise<number> {
  const conn = await RespConnection.connect(stack.redisServer.port);
  const [info] = await conn.send([["INFO", "commandstats"]]);
  await conn.close();
  const text = new TextDecoder().decode(info as Uint8Array);
  return [...text.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** REST requests and Redis commands (as Redis counts them) per turn of one warm session. */
async function perTurnCost(stack: Stack) {
  const client = await productAsker(stack);
  await client.ask("warm up");
  const requests0 = stack.bridge.requests, commands0 = await redisCommands(stack);
  const N = 20;
  for (let i = 0; i < N; i++) await client.ask(`count ${i}`);
  const requests = (stack.bridge.requests - requests0) / N;
  const commands = (await redisCommands(stack) - commands0 - 1) / N;
  client.close();
  console.log(
    `per turn (1 session, 10-token reply): ${requests.toFixed(1)} REST requests, ` +
      `${commands.toFixed(1)} Redis commands`,
  );
}

/** What a worker, and a web server holding one idle socket, ask of Redis while nobody chats. */
async function idleCost(stack: Stack) {
  await sleep(5000);
  let before = stack.bridge.requests;
  await sleep(IDLE_SECONDS * 1000);
  const worker = (stack.bridge.requests - before) / IDLE_SECONDS;
  const idle = await newClient(stack);
  await sleep(3000);
  before = stack.bridge.requests;
  await sleep(IDLE_SECONDS * 1000);
  const both = (stack.bridge.requests - before) / IDLE_SECONDS;
  idle.close();
  console.log(
    `idle REST requests/s besides held subscriptions: worker ${worker.toFixed(3)}, ` +
      `web server holding a socket ${(both - worker).toFixed(3)}`,
  );
}

/** Each latency figure of the product divided by the reference relay's, from the same run. */
function compare(ours: LatencyFigures, ref: LatencyFigures) {
  const x = (a: number, b: number) => `${(a / b).toFixed(1)}x`;
  const [o50, r50] = [ours.bursts.get(50)!, ref.bursts.get(50)!];
  const [o200, r200] = [ours.bursts.get(200)!, ref.bursts.get(200)!];
  console.log(
    `product / reference relay: first turn after idle ${x(ours.cold, ref.cold)}, ` +
      `1 session p50 ${x(ours.one[0], ref.one[0])} p99 ${x(ours.one[1], ref.one[1])}, ` +
      `50 sessions p99 ${x(o50[1], r50[1])}, 200 sessions p50 ${x(o200[0], r200[0])} ` +
      `p99 ${x(o200[1], r200[1])}`,
  );
}

async function latency() {
  const { stack, modelUrl, modelPid } = await stackWithModel({
    reply: "one two three four five six seven eight nine ten",
    firstTokenDelayMs: FIRST_TOKEN_MS,
  }, { RATE_LIMIT_PER_MINUTE: "1000000", WORKER_CLAIM_IDLE_MS: "15000" });
  try {
    const own = await modelOwn(modelUrl);
    console.log(`the model's own first token, called directly: median ${ms(own)}`);
    const cpu = new CpuMeter({
      "web server": stack.servers[0].child.pid,
      worker: stack.workers[0].child.pid,
      redis: stack.redisServer.pid,
      model: modelPid,
      "clients and bridge": Deno.pid,
    });
    const ours = await latencyFigures("", () => productAsker(stack), own, cpu);
    const perTurn = cpu.perTurn();
    if (perTurn) console.log(`CPU per turn in the 200-session bursts, ms: ${perTurn}`);
    await perTurnCost(stack);
    await roundTrips(modelUrl);
    const relay = await startReferenceRelay(stack.redisServer, modelUrl);
    try {
      const open = () => SocketAsker.connect(relay.url, (id, content) => ({ id, content }));
      compare(ours, await latencyFigures("reference relay: ", open, own));
    } finally {
      await relay.close();
    }
    await idleCost(stack);
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

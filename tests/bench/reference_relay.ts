// The benchmark's yardstick: the least a relay through Redis adds on this machine, measured in the
// same run as the product. A WebSocket server pushes each turn onto a Redis list over TCP, a worker
// pops it (BLPOP), calls the same model with the product's own provider code and pushes each piece
// onto the turn's list, which the server pops and sends on. No durability, claiming, stop, resume,
// limits or REST: only what any relay of this shape pays (its processes, event loops and Redis).
import { RespConnection } from "../../dev/resp.ts";
import { loadConfig } from "../../lib/config.ts";
import { createOpenAIProvider } from "../../lib/providers/openai.ts";
import { spawnReady } from "../fixtures/child_process.ts";

const TURNS = "ref:turns";
const DONE = "\u0000done";
const text = (v: unknown) => new TextDecoder().decode(v as Uint8Array);

export interface ReferenceRelay {
  /** The server's WebSocket URL. */
  url: string;
  close(): Promise<void>;
}

/** Starts the relay's server and worker as two processes, as the product's are. */
export async function startReferenceRelay(
  redis: { port: number; password?: string },
  modelUrl: string,
): Promise<ReferenceRelay> {
  const redisArgs = [String(redis.port), redis.password ?? ""];
  const server = await spawnReady(new URL(import.meta.url), ["server", ...redisArgs]);
  const worker = await spawnReady(new URL(import.meta.url), ["worker", ...redisArgs, modelUrl]);
  return {
    url: server.line.replace(/^http/, "ws"),
    async close() {
      for (const p of [worker, server]) {
        try {
          p.child.kill("SIGKILL");
        } catch { /* already gone */ }
        await p.child.status;
      }
    },
  };
}

async function serve(port: number, password: string | undefined) {
  const connect = () => RespConnection.connect(port, { password });
  const pusher = await connect();
  // Blocking pops need a connection each; idle ones are kept for the next turn.
  const idle: RespConnection[] = [];
  const relay = async (socket: WebSocket, data: string) => {
    const { id, content } = JSON.parse(data);
    pusher.send([["LPUSH", TURNS, JSON.stringify({ id, content })]]);
    const waiter = idle.pop() ?? await connect();
    for (;;) {
      const [reply] = await waiter.send([["BLPOP", `ref:r:${id}`, "0"]]);
      const piece = text((reply as unknown[])[1]);
      if (piece === DONE) break;
      socket.send(JSON.stringify({ type: "delta", id, text: piece }));
    }
    idle.push(waiter);
    socket.send(JSON.stringify({ type: "done", id }));
  };
  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(`http://127.0.0.1:${port}`),
  }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => relay(socket, String(e.data));
    return response;
  });
}

async function work(port: number, password: string | undefined, modelUrl: string) {
  const provider = createOpenAIProvider(loadConfig({ OPENAI_BASE_URL: modelUrl }));
  const popper = await RespConnection.connect(port, { password });
  const pusher = await RespConnection.connect(port, { password });
  const answer = async (id: string, content: string) => {
    const messages = [{ id, role: "user" as const, content, timestamp: "" }];
    const signal = new AbortController().signal;
    for await (const piece of provider.generate({ messages, signal })) {
      pusher.send([["RPUSH", `ref:r:${id}`, piece]]);
    }
    await pusher.send([["RPUSH", `ref:r:${id}`, DONE], ["EXPIRE", `ref:r:${id}`, "60"]]);
  };
  console.log("ready");
  for (;;) {
    const [reply] = await popper.send([["BLPOP", TURNS, "0"]]);
    const { id, content } = JSON.parse(text((reply as unknown[])[1]));
    answer(id, content).catch((err) => console.error(`reference worker: ${err}`));
  }
}

if (import.meta.main) {
  const [role, port, password, modelUrl] = Deno.args;
  if (role === "server") await serve(Number(port), password || undefined);
  else await work(Number(port), password || undefined, modelUrl);
}

// What the pipeline benchmark's parts share: repetitions, percentiles, a stack whose model server
// runs in its own process, and its clients.
import { ChatClient, newSession, type Stack, startStack } from "../support/stack.ts";
import { startModelServerProcess } from "../fixtures/model_server_process.ts";
import type { OpenAIServerOptions } from "../fixtures/model_servers.ts";

export const REPEATS = Number(Deno.env.get("BENCH_REPEATS") ?? 3);
export const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
export const ms = (x: number) => `${x.toFixed(1)} ms`;
export const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** A stack whose model server runs in its own process, as a real model does. */
export async function stackWithModel(model: OpenAIServerOptions, env: Record<string, string>) {
  const server = await startModelServerProcess(model);
  const stack = await startStack({
    modelEnv: { MODEL_PROVIDER: "openai", OPENAI_BASE_URL: server.url, OPENAI_MODEL: "local" },
    env,
  }).catch(async (err) => {
    await server.close();
    throw err;
  });
  const stop = stack.stop;
  stack.stop = async () => {
    await stop();
    await server.close();
  };
  return { stack, modelUrl: server.url, modelPid: server.pid };
}

/** A new session with its socket open. */
export async function newClient(stack: Stack): Promise<ChatClient> {
  return await ChatClient.connect(stack.baseUrl, await newSession(stack.baseUrl));
}

/** `n` new sessions, each with its socket open. */
export function newClients(stack: Stack, n: number): Promise<ChatClient[]> {
  return Promise.all(Array.from({ length: n }, () => newClient(stack)));
}

// Benchmarks the embedded model provider on a random-weight file of SmolLM2-135M's shape: load time,
// generation speed for 1, 2, 4 and 8 sessions at once (which batch in one llama.cpp context), and
// the worker's peak memory.
//
//   deno run -A tests/bench/llama.ts [--shape smollm2-135m] [--type Q8_0|F16|F32] [--threads 1]
//                                    [--tokens 128] [--sessions 1,2,4,8] [--context 1024]
//                                    [--model FILE]
//
// The measuring runs in a child process so its peak RSS is the model's, not the file writer's.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../../lib/config.ts";
import type { Message } from "../../lib/contract/frames.ts";
import { createLlamaProvider } from "../../lib/providers/llama.ts";
import { type ShapeName, SHAPES, writeTestModel } from "../fixtures/make_test_model.ts";
import type { TensorTypeName } from "../fixtures/gguf.ts";

/** performance.now() at the start, first piece and end of one generate() call. */
interface Run {
  begin: number;
  first: number;
  end: number;
  pieces: number;
}

interface ChildResult {
  loadMs: number;
  rssAfterLoadMb: number;
  gpu: string;
  /** The runs of each round, keyed by how many sessions generated at once. */
  rounds: Record<string, Run[]>;
  peakRssMb: number;
}

interface Settings {
  modelPath: string;
  threads: number;
  tokens: number;
  sessions: number[];
  context: number;
}

const MB = 2 ** 20;

function peakRssMb(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

const prompt: Message[] = [{
  id: "u1",
  role: "user",
  content: "Could you explain, in a few short paragraphs, how a small language model running " +
    "on a laptop CPU turns my question into an answer, one token at a time?",
  timestamp: new Date().toISOString(),
}];

async function child(settings: Settings): Promise<ChildResult> {
  const started = performance.now();
  const provider = createLlamaProvider(loadConfig({
    MODEL_PATH: settings.modelPath,
    // Every session of the largest round gets its own sequence of the one shared context.
    LLAMA_MAX_SEQUENCES: String(Math.max(...settings.sessions)),
    LLAMA_CONTEXT_SIZE: String(settings.context),
    LLAMA_THREADS: String(settings.threads),
    MAX_NEW_TOKENS: String(settings.tokens),
  }));
  await provider.ready();
  const loadMs = performance.now() - started;
  const rssAfterLoadMb = Deno.memoryUsage().rss / MB;

  const run = async (): Promise<Run> => {
    const signal = new AbortController().signal;
    const result = { begin: performance.now(), first: 0, end: 0, pieces: 0 };
    for await (const _ of provider.generate({ messages: prompt, signal })) {
      if (!result.pieces++) result.first = performance.now();
    }
    result.end = performance.now();
    return result;
  };
  await run(); // warm-up
  const rounds: Record<string, Run[]> = {};
  for (const n of settings.sessions) {
    rounds[n] = await Promise.all(Array.from({ length: n }, run));
  }
  const gpu = provider.gpu ?? "unknown";
  await provider.close();
  return { loadMs, rssAfterLoadMb, gpu, rounds, peakRssMb: peakRssMb() };
}

/**
 * Random weights never produce an end-of-turn token (see make_test_model.ts), so every run
 * generates exactly `tokens` tokens. "Generating" is the stretch where every session of a round
 * has its first piece, so it leaves out reading the prompts.
 */
function report(result: ChildResult, settings: Settings): string[] {
  const perSecond = (count: number, ms: number) => count / (ms / 1000);
  const { tokens } = settings;
  const lines = [
    `cpus: ${navigator.hardwareConcurrency}, threads: ${settings.threads}, runs on: ${result.gpu}, ` +
    `context: ${settings.context} tokens per sequence, load average: ${
      Deno.loadavg()[0].toFixed(2)
    }`,
    `load time: ${result.loadMs.toFixed(0)} ms (RSS after load ${
      result.rssAfterLoadMb.toFixed(0)
    } MiB)`,
    "",
    "sessions  tok/s generating (each)  tok/s with prompts  vs 1 session  first pieces after",
  ];
  let single = 0;
  for (const [n, runs] of Object.entries(result.rounds)) {
    const begin = Math.min(...runs.map((r) => r.begin));
    const first = Math.max(...runs.map((r) => r.first));
    const end = Math.max(...runs.map((r) => r.end));
    const generating = perSecond(runs.length * (tokens - 1), end - first);
    const withPrompts = perSecond(runs.length * tokens, end - begin);
    single ||= generating;
    lines.push(
      `${n.padStart(8)}  ${generating.toFixed(1).padStart(9)} (${
        (generating / runs.length).toFixed(1).padStart(6)
      })       ${withPrompts.toFixed(1).padStart(18)}  ${
        (generating / single).toFixed(2).padStart(11)
      }x  ${(first - begin).toFixed(0).padStart(15)} ms`,
    );
  }
  lines.push("", `peak RSS of the worker: ${result.peakRssMb.toFixed(0)} MiB`);
  return lines;
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      shape: { type: "string", default: "smollm2-135m" },
      type: { type: "string", default: "Q8_0" },
      threads: { type: "string", default: "1" },
      tokens: { type: "string", default: "128" },
      sessions: { type: "string", default: "1,2,4,8" },
      context: { type: "string", default: "1024" },
      model: { type: "string" },
      child: { type: "boolean", default: false },
    },
  });
  const settings: Settings = {
    modelPath: values.model ?? "",
    threads: Number(values.threads),
    tokens: Number(values.tokens),
    sessions: values.sessions.split(",").map(Number),
    context: Number(values.context),
  };
  if (values.child) {
    console.log(JSON.stringify(await child(settings)));
    return;
  }
  const shape = values.shape as ShapeName;
  let dir: string | undefined;
  if (!settings.modelPath) {
    dir = await Deno.makeTempDir({ prefix: "bench_llama_" });
    settings.modelPath = join(dir, `${shape}-${values.type}.gguf`);
    const started = performance.now();
    const bytes = await writeTestModel(settings.modelPath, shape, {
      type: values.type as TensorTypeName,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`model: ${shape} ${JSON.stringify(SHAPES[shape])} ${values.type}`);
    console.log(`  ${(bytes / 1e6).toFixed(1)} MB, written in ${seconds} s`);
  }
  try {
    const self = new URL(import.meta.url).pathname;
    const args = ["run", "-A", self, "--child", "--model", settings.modelPath];
    for (const key of ["threads", "tokens", "sessions", "context"] as const) {
      args.push(`--${key}`, String(values[key]));
    }
    const output = await new Deno.Command(Deno.execPath(), {
      args,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!output.success) throw new Error(`benchmark child failed (${output.code})`);
    const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
    for (const line of report(JSON.parse(lines[lines.length - 1]), settings)) console.log(line);
  } finally {
    if (dir) await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();

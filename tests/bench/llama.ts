// Benchmarks the embedded model provider on a random-weight file of SmolLM2-135M's shape:
// load time, generation speed for one and two concurrent sessions, and the worker's peak memory.
//
//   deno run -A tools/bench_llama.ts [--shape smollm2-135m] [--type Q8_0|F16|F32] [--threads N]
//                                    [--tokens 128] [--model FILE]
//
// The measuring runs in a child process so its peak RSS is the model's, not the file writer's.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../../lib/config.ts";
import type { Message } from "../../lib/contract/frames.ts";
import { createLlamaProvider, defaultThreads } from "../../lib/providers/llama.ts";
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
  one: Run;
  two: [Run, Run];
  peakRssMb: number;
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

async function child(modelPath: string, threads: number, tokens: number): Promise<ChildResult> {
  const started = performance.now();
  const provider = createLlamaProvider(loadConfig({
    MODEL_PATH: modelPath,
    LLAMA_MAX_SEQUENCES: "2",
    LLAMA_THREADS: String(threads),
    MAX_NEW_TOKENS: String(tokens),
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
  const one = await run();
  const two = await Promise.all([run(), run()]) as [Run, Run];
  await provider.close();
  return { loadMs, rssAfterLoadMb, one, two, peakRssMb: peakRssMb() };
}

/**
 * Random weights never produce an end-of-turn token (see make_test_model.ts), so every run
 * generates exactly `tokens` tokens; "generating" excludes reading the prompt.
 */
function report(result: ChildResult, tokens: number, threads: number): string[] {
  const perSecond = (count: number, ms: number) => (count / (ms / 1000)).toFixed(1);
  const { one, two } = result;
  const twoBegin = Math.min(two[0].begin, two[1].begin);
  const twoFirst = Math.max(two[0].first, two[1].first);
  const twoEnd = Math.max(two[0].end, two[1].end);
  const rssAfterLoad = result.rssAfterLoadMb.toFixed(0);
  return [
    `cpus: ${navigator.hardwareConcurrency}, threads: ${threads}, ` +
    `load average: ${Deno.loadavg()[0].toFixed(2)}`,
    `load time: ${result.loadMs.toFixed(0)} ms (RSS after load ${rssAfterLoad} MiB)`,
    `1 session: ${perSecond(tokens - 1, one.end - one.first)} tok/s generating, ` +
    `${perSecond(tokens, one.end - one.begin)} tok/s with the prompt, ` +
    `first piece after ${(one.first - one.begin).toFixed(0)} ms (${one.pieces} pieces)`,
    `2 concurrent sessions: ${perSecond(2 * (tokens - 1), twoEnd - twoFirst)} tok/s in total ` +
    `generating (${perSecond(tokens - 1, twoEnd - twoFirst)} each), ` +
    `${perSecond(2 * tokens, twoEnd - twoBegin)} tok/s in total with the prompts, ` +
    `both first pieces after ${(twoFirst - twoBegin).toFixed(0)} ms`,
    `peak RSS of the worker: ${result.peakRssMb.toFixed(0)} MiB`,
  ];
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      shape: { type: "string", default: "smollm2-135m" },
      type: { type: "string", default: "Q8_0" },
      threads: { type: "string", default: String(defaultThreads()) },
      tokens: { type: "string", default: "128" },
      model: { type: "string" },
      child: { type: "boolean", default: false },
    },
  });
  const threads = Number(values.threads);
  const tokens = Number(values.tokens);
  if (values.child) {
    console.log(JSON.stringify(await child(values.model!, threads, tokens)));
    return;
  }
  const shape = values.shape as ShapeName;
  let modelPath = values.model;
  let dir: string | undefined;
  if (!modelPath) {
    dir = await Deno.makeTempDir({ prefix: "bench_llama_" });
    modelPath = join(dir, `${shape}-${values.type}.gguf`);
    const started = performance.now();
    const bytes = await writeTestModel(modelPath, shape, { type: values.type as TensorTypeName });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`model: ${shape} ${JSON.stringify(SHAPES[shape])} ${values.type}`);
    console.log(`  ${(bytes / 1e6).toFixed(1)} MB, written in ${seconds} s`);
  }
  try {
    const self = new URL(import.meta.url).pathname;
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        self,
        "--child",
        "--model",
        modelPath,
        "--threads",
        `${threads}`,
        "--tokens",
        `${tokens}`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!output.success) throw new Error(`benchmark child failed (${output.code})`);
    const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
    for (const line of report(JSON.parse(lines[lines.length - 1]), tokens, threads)) {
      console.log(line);
    }
  } finally {
    if (dir) await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();

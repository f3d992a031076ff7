// Starts llama.cpp through node-llama-cpp on the backend LLAMA_GPU asks for, falling back to the CPU
// when a GPU build cannot load. Only the worker imports this (node-llama-cpp is native code).
import type { Config } from "../config.ts";
import type * as NodeLlamaCpp from "../../vendor/node-llama-cpp/node_modules/node-llama-cpp/dist/index.d.ts";

export type Runtime = typeof NodeLlamaCpp;
export type GpuSetting = Config["LLAMA_GPU"];

const RUNTIME_PATH = "../../vendor/node-llama-cpp/node_modules/node-llama-cpp/dist/index.js";

export interface Started {
  runtime: Runtime;
  llama: NodeLlamaCpp.Llama;
  /** "cpu", or the backend and its devices: "cuda: NVIDIA GeForce RTX 4090". */
  gpu: string;
}

/** What getLlama() is asked for: "auto" tries CUDA, then Vulkan, then the CPU by itself. */
export function gpuOption(setting: GpuSetting): "auto" | "cuda" | "vulkan" | false {
  return setting === "off" ? false : setting;
}

/**
 * Loads the runtime and starts llama.cpp with `build: "never"` (prebuilt binaries only: a worker
 * must never try to compile llama.cpp). A GPU named explicitly that cannot load (no prebuilt
 * installed, no driver) is logged with the fix and replaced by the CPU build, so a misconfigured
 * GPU slows the model down instead of taking it away.
 */
export async function startLlama(
  setting: GpuSetting,
  log: (line: string) => void = (line) => console.error(line),
): Promise<Started> {
  const runtime = await import(RUNTIME_PATH) as Runtime;
  const options = {
    build: "never",
    logLevel: runtime.LlamaLogLevel.warn,
    logger: (level: NodeLlamaCpp.LlamaLogLevel, message: string) => {
      const text = message.trim();
      if (text && runtime.LlamaLogLevelGreaterThanOrEqual(level, runtime.LlamaLogLevel.warn)) {
        log(`[llama] ${text}`);
      }
    },
  } as const;
  const gpu = gpuOption(setting);
  let llama: NodeLlamaCpp.Llama;
  try {
    llama = await runtime.getLlama({ ...options, gpu });
  } catch (error) {
    if (gpu === false || gpu === "auto") throw error;
    log(
      `[llama] LLAMA_GPU=${setting}, but llama.cpp's ${setting} build could not load ` +
        `(${(error as Error)?.message ?? error}); running on the CPU instead. Install it with ` +
        `\`LLAMA_GPU_PACKAGE=${setting} deno task install:gpu\` and check the GPU driver` +
        (setting === "cuda" ? " and CUDA runtime" : " (libvulkan)") + `, or set LLAMA_GPU=off.`,
    );
    llama = await runtime.getLlama({ ...options, gpu: false });
  }
  return { runtime, llama, gpu: await describeGpu(llama) };
}

async function describeGpu(llama: NodeLlamaCpp.Llama): Promise<string> {
  if (llama.gpu === false) return "cpu";
  const devices = await llama.getGpuDeviceNames().catch(() => [] as string[]);
  return devices.length ? `${llama.gpu}: ${devices.join(", ")}` : llama.gpu;
}

// Configuration from the environment, validated once. Every variable is documented in .env.example.
import { z } from "zod";

const int = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);
const optionalString = z.string().trim().optional().transform((v) => v ? v : undefined);

/** The chat model asked of the Hugging Face router when HF_MODEL is unset: small, widely served. */
export const DEFAULT_HF_MODEL = "meta-llama/Llama-3.1-8B-Instruct";
const flag = z.string().trim().optional().transform((v) => /^(1|true|yes|on)$/i.test(v ?? ""));
const list = z.string().optional().transform((v) =>
  (v ?? "").split(",").map((s) => s.trim()).filter(Boolean)
);

export const ConfigSchema = z.object({
  PORT: int(8000, 0),
  /** Loopback unless told otherwise; Deno Deploy (DENO_DEPLOYMENT_ID set) needs every interface. */
  HOST: optionalString,
  UPSTASH_REDIS_REST_URL: optionalString,
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  MODEL_PROVIDER: z.enum(["openai", "huggingface", "llama"]).optional().or(
    z.literal("").transform(() => undefined),
  ),
  OPENAI_BASE_URL: z.string().trim().default("https://api.openai.com/v1"),
  OPENAI_API_KEY: optionalString,
  OPENAI_MODEL: z.string().trim().default("gpt-4o-mini"),
  HF_API_URL: optionalString,
  HF_API_TOKEN: optionalString,
  HF_MODEL: optionalString.transform((v) => v ?? DEFAULT_HF_MODEL),
  MODEL_PATH: optionalString,
  SESSION_TTL_SECONDS: int(3600),
  /** Conversations one session may hold (409 too_many_conversations beyond). */
  MAX_CONVERSATIONS: int(100),
  SYSTEM_PROMPT: z.string().default(
    "You are a helpful, friendly assistant. Answer clearly and concisely.",
  ),
  MAX_NEW_TOKENS: int(512),
  CONTEXT_MAX_CHARS: int(6000),
  MODEL_TIMEOUT_MS: int(60000),
  MAX_MESSAGE_CHARS: int(4000),
  RATE_LIMIT_PER_MINUTE: int(20),
  SESSION_RATE_LIMIT_PER_MINUTE: int(30),
  TRUST_PROXY: flag,
  ALLOWED_ORIGINS: list,
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).optional().or(
    z.literal("").transform(() => undefined),
  ),
  LOG_FORMAT: z.enum(["json", "pretty"]).optional().or(z.literal("").transform(() => undefined)),
  /** Unset: 256 turns at once for remote models (each is an open request), the pool for llama. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).optional().or(
    z.literal("").transform(() => undefined),
  ),
  WORKER_CLAIM_IDLE_MS: int(15000, 1000),
  /** The worker's /metrics and /health (unset: not served). */
  WORKER_METRICS_PORT: z.preprocess(
    (v) => v === "" ? undefined : v,
    z.coerce.number().int().min(0).max(65535).optional(),
  ),
  LLAMA_MAX_SEQUENCES: int(2),
  LLAMA_CONTEXT_SIZE: int(4096),
  LLAMA_THREADS: int(0, 0),
  LLAMA_GPU: z.preprocess(
    (v) => typeof v === "string" ? v.trim().toLowerCase() || undefined : v,
    z.enum(["auto", "cuda", "vulkan", "off"]).default("auto"),
  ),
  LOCAL_REDIS_PORT: int(0, 0),
  LOCAL_BRIDGE_PORT: int(0, 0),
});
export type Config = z.infer<typeof ConfigSchema>;

/** The interface the web server binds. */
export function listenHost(config: Config, env = Deno.env.toObject()): string {
  return config.HOST ?? (env.DENO_DEPLOYMENT_ID ? "0.0.0.0" : "127.0.0.1");
}

export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration: ${problems.join("; ")}`);
  }
  return parsed.data;
}

/** The model file used when MODEL_PATH is unset (where `deno task model` puts it). */
export const DEFAULT_MODEL_FILE = "models/SmolLM2-360M-Instruct-Q8_0.gguf";

/** A configured remote provider wins; otherwise the embedded model. */
export function chooseProvider(config: Config): "openai" | "huggingface" | "llama" {
  if (config.MODEL_PROVIDER) return config.MODEL_PROVIDER;
  if (config.OPENAI_API_KEY) return "openai";
  if (config.HF_API_URL || config.HF_API_TOKEN) return "huggingface";
  return "llama";
}

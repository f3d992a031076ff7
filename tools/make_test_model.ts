// Writes a small but real llama-architecture GGUF model with random weights and a byte-level BPE
// tokenizer of its own, so the embedded-model code runs on llama.cpp without downloading weights.
//
//   deno run -A tools/make_test_model.ts [--shape tiny|smollm2-135m] [--type F32|F16|Q8_0] <out.gguf>
//
// Random weights make the text garbage; the file is for exercising load, chat template,
// streaming, abort and concurrency paths and for measuring speed and memory on a given shape.
import { parseArgs } from "node:util";
import { meta, type TensorSpec, type TensorTypeName, writeGguf } from "./gguf.ts";

export interface ModelShape {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  vocab: number;
  contextLength: number;
}

export const SHAPES = {
  tiny: { hidden: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 512, contextLength: 8192 },
  "smollm2-135m": {
    hidden: 576,
    layers: 30,
    heads: 9,
    kvHeads: 3,
    ffn: 1536,
    vocab: 49152,
    contextLength: 8192,
  },
} satisfies Record<string, ModelShape>;
export type ShapeName = keyof typeof SHAPES;

/** SmolLM2-Instruct's ChatML template, as its tokenizer_config.json carries it. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
  "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}" +
  "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

export const SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;
const BOS_ID = 1;
const EOS_ID = 2;
const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_CONTROL = 3;

export interface TestModelOptions {
  /** Tensor encoding of the 2-D weights (1-D norms are always F32). Default F32. */
  type?: TensorTypeName;
  /** Jinja chat template stored as `tokenizer.chat_template`. Default: SmolLM2's ChatML. */
  chatTemplate?: string;
  seed?: number;
}

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same file. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** GPT-2's byte-to-unicode table: every byte gets a printable character, space becomes "Ġ". */
function byteLevelAlphabet(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  }
  return table;
}

export interface Tokenizer {
  tokens: string[];
  types: number[];
  merges: string[];
}

/**
 * A byte-level BPE vocabulary: the special tokens, all 256 byte tokens, then merged tokens until
 * `size`. Merges first make "Ġ" + letter (a space before a word), then join random word pieces,
 * so ordinary text tokenizes into multi-byte tokens as with a trained tokenizer.
 */
export function buildTokenizer(size: number, seed = 1): Tokenizer {
  const alphabet = byteLevelAlphabet();
  const tokens: string[] = [...SPECIAL_TOKENS, ...alphabet];
  const types = tokens.map((_, i) =>
    i < SPECIAL_TOKENS.length ? TOKEN_TYPE_CONTROL : TOKEN_TYPE_NORMAL
  );
  if (size < tokens.length) throw new Error(`vocab must hold at least ${tokens.length} tokens`);
  const merges: string[] = [];
  const known = new Set(tokens);
  const add = (left: string, right: string) => {
    const token = left + right;
    if (known.has(token)) return;
    known.add(token);
    tokens.push(token);
    types.push(TOKEN_TYPE_NORMAL);
    merges.push(`${left} ${right}`);
  };
  const letters = "abcdefghijklmnopqrstuvwxyz";
  for (const letter of letters) if (tokens.length < size) add("Ġ", letter);
  const pieces = [...letters];
  const starts = [...letters].map((l) => "Ġ" + l);
  const random = rng(seed);
  const pick = (from: string[]) => from[Math.floor(random() * from.length)];
  while (tokens.length < size) {
    const left = random() < 0.5 ? pick(starts) : pick(pieces);
    const right = pick(pieces);
    if (left.length + right.length > 12) continue;
    const before = tokens.length;
    add(left, right);
    if (tokens.length > before) (left.startsWith("Ġ") ? starts : pieces).push(left + right);
  }
  return { tokens, types, merges };
}

/**
 * Uniform random weights of standard deviation `std`, except that hidden dimension 0 works as a
 * bias channel: every embedding carries +1 there (control tokens -1) and no layer writes to it,
 * so the tied output layer gives control tokens (end of turn included) a far lower logit than
 * text. Generation therefore runs until the token cap or an abort, which the tests rely on.
 */
function randomFill(
  name: string,
  seed: number,
  std: number,
  pin?: (index: number) => number | undefined,
): TensorSpec["fill"] {
  const random = rng(hash(name) ^ seed);
  const amplitude = std * Math.sqrt(3);
  return (start, out) => {
    for (let i = 0; i < out.length; i++) {
      const value = (random() * 2 - 1) * amplitude;
      out[i] = pin?.(start + i) ?? value;
    }
  };
}

const ones: TensorSpec["fill"] = (_start, out) => out.fill(1);

function tensors(shape: ModelShape, type: TensorTypeName, seed: number): TensorSpec[] {
  const { hidden, ffn, vocab } = shape;
  const headDim = hidden / shape.heads;
  const kvDim = headDim * shape.kvHeads;
  const std = 0.02;
  const list: TensorSpec[] = [{
    name: "token_embd.weight",
    shape: [hidden, vocab],
    type,
    fill: randomFill("token_embd.weight", seed, std, (i) => {
      if (i % hidden !== 0) return undefined;
      return Math.floor(i / hidden) < SPECIAL_TOKENS.length ? -1 : 1;
    }),
  }];
  for (let layer = 0; layer < shape.layers; layer++) {
    const blk = `blk.${layer}`;
    const matrix = (name: string, dims: number[], pin?: (i: number) => number | undefined) =>
      list.push({
        name: `${blk}.${name}`,
        shape: dims,
        type,
        fill: randomFill(`${blk}.${name}`, seed, std, pin),
      });
    list.push({ name: `${blk}.attn_norm.weight`, shape: [hidden], type: "F32", fill: ones });
    matrix("attn_q.weight", [hidden, hidden]);
    matrix("attn_k.weight", [hidden, kvDim]);
    matrix("attn_v.weight", [hidden, kvDim]);
    // Output row 0 is hidden dimension 0, the bias channel: keep it untouched.
    matrix("attn_output.weight", [hidden, hidden], (i) => i < hidden ? 0 : undefined);
    list.push({ name: `${blk}.ffn_norm.weight`, shape: [hidden], type: "F32", fill: ones });
    matrix("ffn_gate.weight", [hidden, ffn]);
    matrix("ffn_up.weight", [hidden, ffn]);
    matrix("ffn_down.weight", [ffn, hidden], (i) => i < ffn ? 0 : undefined);
  }
  list.push({ name: "output_norm.weight", shape: [hidden], type: "F32", fill: ones });
  return list;
}

const FILE_TYPE = { F32: 0, F16: 1, Q8_0: 7 } as const;

/** Writes the model to `path`; returns the file size in bytes. */
export async function writeTestModel(
  path: string,
  shape: ShapeName | ModelShape,
  options: TestModelOptions = {},
): Promise<number> {
  const dims = typeof shape === "string" ? SHAPES[shape] : shape;
  const type = options.type ?? "F32";
  const seed = options.seed ?? 42;
  const tokenizer = buildTokenizer(dims.vocab, seed);
  return await writeGguf(path, {
    metadata: {
      "general.architecture": meta.string("llama"),
      "general.name": meta.string(typeof shape === "string" ? `test-${shape}` : "test-model"),
      "general.file_type": meta.u32(FILE_TYPE[type]),
      "llama.context_length": meta.u32(dims.contextLength),
      "llama.embedding_length": meta.u32(dims.hidden),
      "llama.block_count": meta.u32(dims.layers),
      "llama.feed_forward_length": meta.u32(dims.ffn),
      "llama.attention.head_count": meta.u32(dims.heads),
      "llama.attention.head_count_kv": meta.u32(dims.kvHeads),
      "llama.rope.dimension_count": meta.u32(dims.hidden / dims.heads),
      "llama.rope.freq_base": meta.f32(100000),
      "llama.attention.layer_norm_rms_epsilon": meta.f32(1e-5),
      "llama.vocab_size": meta.u32(dims.vocab),
      "tokenizer.ggml.model": meta.string("gpt2"),
      "tokenizer.ggml.pre": meta.string("smollm"),
      "tokenizer.ggml.tokens": meta.array("string", tokenizer.tokens),
      "tokenizer.ggml.token_type": meta.array("i32", tokenizer.types),
      "tokenizer.ggml.merges": meta.array("string", tokenizer.merges),
      "tokenizer.ggml.bos_token_id": meta.u32(BOS_ID),
      "tokenizer.ggml.eos_token_id": meta.u32(EOS_ID),
      "tokenizer.ggml.unknown_token_id": meta.u32(0),
      "tokenizer.ggml.padding_token_id": meta.u32(EOS_ID),
      "tokenizer.ggml.add_bos_token": meta.bool(false),
      "tokenizer.chat_template": meta.string(options.chatTemplate ?? CHATML_TEMPLATE),
    },
    tensors: tensors(dims, type, seed),
  });
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      shape: { type: "string", default: "tiny" },
      type: { type: "string", default: "F32" },
    },
  });
  const shape = values.shape as ShapeName;
  const type = values.type as TensorTypeName;
  if (!(shape in SHAPES) || !["F32", "F16", "Q8_0"].includes(type) || positionals.length !== 1) {
    console.error(
      `usage: make_test_model.ts [--shape ${
        Object.keys(SHAPES).join("|")
      }] [--type F32|F16|Q8_0] <out.gguf>`,
    );
    Deno.exit(2);
  }
  const started = performance.now();
  const bytes = await writeTestModel(positionals[0], shape, { type });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `wrote ${positionals[0]}: ${(bytes / 1e6).toFixed(1)} MB (${shape}, ${type}) in ${seconds} s`,
  );
}

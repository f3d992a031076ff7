// A GGUF v3 writer, enough to produce real llama.cpp model files for tests and benchmarks.
// Tensor data is produced chunk by chunk by a fill callback and streamed to disk, so a file of
// hundreds of megabytes never has to sit in JS memory.

/** GGUF metadata value types, as numbered by the format. */
export const GgufType = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type GgufScalarType = Exclude<keyof typeof GgufType, "array">;

export type GgufValue =
  | { type: Exclude<GgufScalarType, "string" | "bool" | "u64" | "i64">; value: number }
  | { type: "u64" | "i64"; value: bigint | number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | {
    type: "array";
    itemType: GgufScalarType;
    values: readonly (number | bigint | boolean | string)[];
  };

/** Shorthands for metadata values: `meta.u32(8)`, `meta.array("string", tokens)`. */
export const meta = {
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  u64: (value: number | bigint): GgufValue => ({ type: "u64", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  string: (value: string): GgufValue => ({ type: "string", value }),
  array: (
    itemType: GgufScalarType,
    values: readonly (number | bigint | boolean | string)[],
  ): GgufValue => ({ type: "array", itemType, values }),
};

/** The ggml tensor types this writer can encode, with their ggml type ids. */
export const TensorType = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type TensorTypeName = keyof typeof TensorType;

export interface TensorSpec {
  name: string;
  /** ggml order: shape[0] is the contiguous (row) dimension. */
  shape: number[];
  type: TensorTypeName;
  /** Writes the values of elements [start, start + out.length) of the flattened tensor. */
  fill: (start: number, out: Float32Array) => void;
}

const Q8_0_BLOCK = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;
const CHUNK_ELEMENTS = Q8_0_BLOCK * 32 * 1024;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensorByteSize(spec: Pick<TensorSpec, "shape" | "type">): number {
  const n = elementCount(spec.shape);
  switch (spec.type) {
    case "F32":
      return n * 4;
    case "F16":
      return n * 2;
    case "Q8_0":
      if (spec.shape[0] % Q8_0_BLOCK !== 0) {
        throw new Error(`Q8_0 needs a row length divisible by ${Q8_0_BLOCK}, got ${spec.shape[0]}`);
      }
      return (n / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  }
}

/** A little-endian byte builder for the header, which is small enough to build in memory. */
class Bytes {
  #buf = new Uint8Array(1 << 16);
  #view = new DataView(this.#buf.buffer);
  length = 0;
  #encoder = new TextEncoder();

  #reserve(n: number) {
    if (this.length + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
  u8(v: number) {
    this.#reserve(1);
    this.#view.setUint8(this.length, v);
    this.length += 1;
  }
  i8(v: number) {
    this.#reserve(1);
    this.#view.setInt8(this.length, v);
    this.length += 1;
  }
  u16(v: number) {
    this.#reserve(2);
    this.#view.setUint16(this.length, v, true);
    this.length += 2;
  }
  i16(v: number) {
    this.#reserve(2);
    this.#view.setInt16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number) {
    this.#reserve(4);
    this.#view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number) {
    this.#reserve(4);
    this.#view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number) {
    this.#reserve(4);
    this.#view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  f64(v: number) {
    this.#reserve(8);
    this.#view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  u64(v: number | bigint) {
    this.#reserve(8);
    this.#view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  i64(v: number | bigint) {
    this.#reserve(8);
    this.#view.setBigInt64(this.length, BigInt(v), true);
    this.length += 8;
  }
  string(s: string) {
    const bytes = this.#encoder.encode(s);
    this.u64(bytes.length);
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  padTo(alignment: number) {
    while (this.length % alignment !== 0) this.u8(0);
  }
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }
}

function writeScalar(out: Bytes, type: GgufScalarType, value: number | bigint | boolean | string) {
  switch (type) {
    case "string":
      return out.string(String(value));
    case "bool":
      return out.u8(value ? 1 : 0);
    case "u64":
      return out.u64(value as number | bigint);
    case "i64":
      return out.i64(value as number | bigint);
    default:
      return out[type](Number(value));
  }
}

function writeValue(out: Bytes, value: GgufValue) {
  out.u32(GgufType[value.type]);
  if (value.type === "array") {
    out.u32(GgufType[value.itemType]);
    out.u64(value.values.length);
    for (const item of value.values) writeScalar(out, value.itemType, item);
  } else {
    writeScalar(out, value.type, value.value);
  }
}

/** Encodes `values` (a whole number of Q8_0 blocks) into `out`: per block an f16 scale + 32 int8. */
function encodeQ8_0(values: Float32Array, out: Uint8Array) {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const scale = new Float16Array(1);
  const scaleBytes = new Uint8Array(scale.buffer);
  for (let block = 0; block * Q8_0_BLOCK < values.length; block++) {
    const base = block * Q8_0_BLOCK;
    let amax = 0;
    for (let i = 0; i < Q8_0_BLOCK; i++) amax = Math.max(amax, Math.abs(values[base + i]));
    const d = amax / 127;
    const inv = d ? 1 / d : 0;
    const at = block * Q8_0_BLOCK_BYTES;
    scale[0] = d;
    out[at] = scaleBytes[0];
    out[at + 1] = scaleBytes[1];
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      view.setInt8(at + 2 + i, Math.round(values[base + i] * inv));
    }
  }
}

function encode(type: TensorTypeName, values: Float32Array): Uint8Array {
  switch (type) {
    case "F32":
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    case "F16": {
      const half = Float16Array.from(values);
      return new Uint8Array(half.buffer);
    }
    case "Q8_0": {
      const out = new Uint8Array((values.length / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES);
      encodeQ8_0(values, out);
      return out;
    }
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array) {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

export interface GgufFile {
  metadata: Record<string, GgufValue>;
  tensors: TensorSpec[];
  /** Data alignment; written as `general.alignment` when not the default 32. */
  alignment?: number;
}

/** Writes a GGUF v3 file to `path`; returns its size in bytes. */
export async function writeGguf(path: string, gguf: GgufFile): Promise<number> {
  const alignment = gguf.alignment ?? 32;
  const metadata = { ...gguf.metadata };
  if (alignment !== 32) metadata["general.alignment"] = meta.u32(alignment);

  const header = new Bytes();
  header.u32(0x46554747); // "GGUF"
  header.u32(3);
  header.u64(gguf.tensors.length);
  header.u64(Object.keys(metadata).length);
  for (const [key, value] of Object.entries(metadata)) {
    header.string(key);
    writeValue(header, value);
  }
  let offset = 0;
  for (const tensor of gguf.tensors) {
    header.string(tensor.name);
    header.u32(tensor.shape.length);
    for (const dim of tensor.shape) header.u64(dim);
    header.u32(TensorType[tensor.type]);
    header.u64(offset);
    offset += Math.ceil(tensorByteSize(tensor) / alignment) * alignment;
  }
  header.padTo(alignment);

  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, header.bytes());
    let total = header.length;
    const scratch = new Float32Array(CHUNK_ELEMENTS);
    for (const tensor of gguf.tensors) {
      const n = elementCount(tensor.shape);
      for (let start = 0; start < n; start += CHUNK_ELEMENTS) {
        const values = scratch.subarray(0, Math.min(CHUNK_ELEMENTS, n - start));
        tensor.fill(start, values);
        const bytes = encode(tensor.type, values);
        await writeAll(file, bytes);
        total += bytes.length;
      }
      const padding = (alignment - (total % alignment)) % alignment;
      if (padding) {
        await writeAll(file, new Uint8Array(padding));
        total += padding;
      }
    }
    return total;
  } finally {
    file.close();
  }
}

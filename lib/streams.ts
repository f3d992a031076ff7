// Raw stream replies ([id, [field, value, ...]]) turned into records.
export type RawEntry = [string, string[]];

export function fields(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[raw[i]] = raw[i + 1];
  return out;
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
export const isStreamId = (id: string) => STREAM_ID.test(id);

/** Orders Redis stream ids ("ms-seq") numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

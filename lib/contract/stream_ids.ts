// Raw stream replies ([id, [field, value, ...]]) turned into records.
export type RawEntry = [string, string[]];

export function fields(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[raw[i]] = raw[i + 1];
  return out;
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
export const isStreamId = (id: string) => STREAM_ID.test(id);

/**
 * Orders Redis stream ids ("<ms>-<seq>") numerically, part by part; "5" reads as "5-0". Pure, so
 * the islands use it too (to skip reply events they have already applied).
 */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  for (const [x, y] of [[am, bm], [as, bs]]) {
    if (!/^\d+$/.test(x) || !/^\d+$/.test(y)) return x < y ? -1 : x > y ? 1 : 0;
    const nx = BigInt(x), ny = BigInt(y);
    if (nx !== ny) return nx < ny ? -1 : 1;
  }
  return 0;
}

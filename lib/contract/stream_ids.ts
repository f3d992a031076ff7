// Redis stream ids ("<ms>-<seq>", each part a 64-bit unsigned integer) as the contract's event ids:
// validation and ordering, pure so the server and the islands share them.

const MAX_U64 = (1n << 64n) - 1n;
const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

/** True for an id Redis itself would accept: both parts within the unsigned 64-bit range. */
export function isStreamId(id: string): boolean {
  const m = STREAM_ID.exec(id);
  return !!m && BigInt(m[1]) <= MAX_U64 && BigInt(m[2]) <= MAX_U64;
}

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

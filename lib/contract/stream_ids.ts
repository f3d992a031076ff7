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
  const ai = a.indexOf("-"), bi = b.indexOf("-");
  return compareParts(ai < 0 ? a : a.slice(0, ai), bi < 0 ? b : b.slice(0, bi)) ||
    compareParts(ai < 0 ? "0" : a.slice(ai + 1), bi < 0 ? "0" : b.slice(bi + 1));
}

const DIGITS = /^\d+$/;

/** Decimal strings by value without BigInt (the relay compares ids per event); else as text. */
function compareParts(x: string, y: string): number {
  if (!DIGITS.test(x) || !DIGITS.test(y)) return x < y ? -1 : x > y ? 1 : 0;
  x = x.replace(/^0+(?=\d)/, "");
  y = y.replace(/^0+(?=\d)/, "");
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

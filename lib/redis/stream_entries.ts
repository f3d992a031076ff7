// Raw stream replies ([id, [field, value, ...]]) as @upstash/redis returns them, turned into records.
export type RawEntry = [string, string[]];

export function fields(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[raw[i]] = raw[i + 1];
  return out;
}

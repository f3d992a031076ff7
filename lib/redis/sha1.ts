// SHA-1 in hex, as Redis names scripts (EVALSHA) and as NOTIFY_LUA names a reply stream.

export async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

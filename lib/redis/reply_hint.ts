// Reply hints: what the Lua scripts PUBLISH to each web server that holds a socket of the session
// whenever they write its reply stream, so the event reaches the socket at once instead of at the
// next poll. The stream stays the source of truth; a hint only saves the read.
import { sha1Hex } from "./sha1.ts";

/** The pub/sub channel of one web server process. */
export const serverChannel = (serverId: string) => `chat:srv:${serverId}`;
/**
 * The field of the session's turns hash that lists (space-separated) the web servers holding a
 * socket of the session: in the turns hash so one HMGET reads it with a turn's state. Turn ids
 * never contain ":", so it can never be a turn's own field.
 */
export const HOLDERS_FIELD = ":srv";
/** A session keeps at most this many holders; the oldest (most likely gone) are dropped. */
export const MAX_HOLDERS = 16;

/** Larger events are announced without their fields: the server reads them back. */
export const MAX_HINT_FIELDS_BYTES = 16 * 1024;

/**
 * Lua: publish an entry just added to the session's reply stream (KEYS[4]) to every holder in
 * \`holders\` (the HOLDERS_FIELD value, read by the caller with whatever else it needed). \`s\`
 * names the stream by its SHA-1, so no token travels in a hint.
 */
export const NOTIFY_LUA = `
local function hint(id, fields, holders)
  if not holders or holders == '' then return end
  local sid = redis.sha1hex(KEYS[4])
  local msg = cjson.encode({ s = sid, e = id, f = fields })
  if #msg > ${MAX_HINT_FIELDS_BYTES} then msg = cjson.encode({ s = sid, e = id }) end
  for h in string.gmatch(holders, '%S+') do redis.call('PUBLISH', 'chat:srv:' .. h, msg) end
end
-- The entry's field/value pairs are ARGV[from..to] (to: the last ARGV when nil).
local function notify(id, from, holders, to)
  local fields = {}
  for i = from, to or #ARGV do fields[#fields + 1] = ARGV[i] end
  hint(id, fields, holders)
end
`;

export interface ReplyHint {
  /** SHA-1 (hex) of the reply stream's key. */
  stream: string;
  /** The entry's id in the stream (the event id). */
  event: string;
  /** Its fields, or null when too large to send: read the stream. */
  fields: Record<string, string> | null;
}

export function parseHint(payload: string): ReplyHint | null {
  let raw: { s?: unknown; e?: unknown; f?: unknown };
  try {
    raw = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof raw?.s !== "string" || typeof raw.e !== "string") return null;
  let fields: Record<string, string> | null = null;
  if (Array.isArray(raw.f)) {
    fields = {};
    for (let i = 0; i + 1 < raw.f.length; i += 2) fields[String(raw.f[i])] = String(raw.f[i + 1]);
  }
  return { stream: raw.s, event: raw.e, fields };
}

/** The hint id of a reply stream key, as NOTIFY_LUA computes it. */
export const streamHintId = (key: string): Promise<string> => sha1Hex(key);

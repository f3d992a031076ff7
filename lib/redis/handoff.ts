// Handing a turn to a worker as it is queued: ACCEPT_TURN delivers the new entry (XREADGROUP) to
// a live worker with a free slot and publishes it on that worker's own channel with its
// conversation (or, to the worker that keeps the conversation, its newest messages), so the
// worker starts the model with no read of its own. The requests stream stays the source of
// truth: a hand-off nobody heard puts the turn back for whichever worker reads next, and one lost
// on its way finds its worker when it subscribes again (OWN_TURNS), or another worker claims it.
import { WORKER_GROUP } from "./keys.ts";
import type { RawEntry } from "./stream_entries.ts";

/** The pub/sub channel of one worker: hand-offs, and its own heartbeat ("hb"). */
export const workerChannel = (consumer: string) => `chat:wk:${consumer}`;

/** A hand-off carries its conversation up to this size; a longer one the worker reads itself. */
export const MAX_HANDOFF_HISTORY_BYTES = 64 * 1024;

/**
 * The newest messages a hand-off carries to the worker that keeps the conversation: the reply it
 * has not seen and the new message, with room for turns queued behind one another.
 */
export const HANDOFF_TAIL = 8;

/** Workers tried per turn when the chosen one is not listening (its subscription is down). */
export const HANDOFF_TRIES = 3;

/** A worker that may be handed turns: its consumer name and how many turns it runs at once. */
export interface Candidate {
  id: string;
  capacity: number;
}

/** ACCEPT_TURN's candidates argument: "<consumer> <capacity>" pairs (names hold no spaces). */
export const candidatesArg = (workers: readonly Candidate[] = []): string =>
  workers.filter((w) => !/\s/.test(w.id) && w.capacity > 0)
    .map((w) => `${w.id} ${Math.floor(w.capacity)}`).join(" ");

/**
 * Lua: handOff(turn, entry, r, candidates) after the turn's XADD and save(r) (r: the turn's
 * conversation record, session_lua.ts); KEYS[2] is the session's history, KEYS[3] its turns hash,
 * KEYS[5] its conversations, KEYS[6] the requests stream. Load is what each worker has pending
 * (delivered and not acknowledged), so a full worker is skipped. The worker that keeps the
 * conversation (r.worker: it was handed all of it, and no message up to then has changed since)
 * goes first while it has a free slot, and is sent only the newest HANDOFF_TAIL messages and the
 * message count; any other goes to the least loaded worker with the whole conversation, which then
 * keeps it. Reading a long conversation on every turn was most of what a turn cost Redis and the
 * worker. Answers the worker that heard it, or nil: then the turn waits undelivered for the next
 * worker that reads (all were full, or none listened: a worker restarting reads it at once).
 * pcall: a missing group (no worker ever started) must not fail a turn that is already queued.
 */
export const HANDOFF_LUA = `
local function handOff(turn, entry, r, candidates)
  if candidates == '' then return nil end
  local p = redis.pcall('XPENDING', KEYS[6], '${WORKER_GROUP}')
  if type(p) ~= 'table' or p.err then return nil end
  local load = {}
  for _, pair in ipairs(p[4] or {}) do load[pair[1]] = tonumber(pair[2]) end
  local keeper = r.worker or ''
  local pick = {}
  for w, cap in string.gmatch(candidates, '(%S+) (%d+)') do
    local free = tonumber(cap) - (load[w] or 0)
    if free > 0 then pick[#pick + 1] = { w, free, w == keeper } end
  end
  if #pick == 0 then return nil end
  table.sort(pick, function(a, b)
    if a[3] ~= b[3] then return a[3] end
    return a[2] > b[2]
  end)
  local read = redis.pcall('XREADGROUP', 'GROUP', '${WORKER_GROUP}', pick[1][1], 'COUNT', 1,
    'STREAMS', KEYS[6], '>')
  if type(read) ~= 'table' or read.err or not read[1] then return nil end
  local e = read[1][2][1]
  -- An older turn (a backlog) comes without its conversation: its session's keys are not ours.
  local own = e[1] == entry
  local built = {}
  -- { payload, whether the receiver keeps the conversation after it }
  local function message(tail)
    local k = tail and 't' or 'h'
    if built[k] then return built[k] end
    local msg = { e = e[1], f = e[2] }
    local min, max = bounds(r.id)
    if own and tail then
      local t = redis.call('ZREVRANGEBYLEX', KEYS[2], max, min, 'LIMIT', 0, ${HANDOFF_TAIL})
      local n = #t
      for i = 1, math.floor(n / 2) do t[i], t[n - i + 1] = t[n - i + 1], t[i] end
      msg.t, msg.n = t, tonumber(r.count) or 0
    elseif own then
      local h = redis.call('ZRANGEBYLEX', KEYS[2], min, max)
      local size = 0
      for _, m in ipairs(h) do size = size + #m end
      if size <= ${MAX_HANDOFF_HISTORY_BYTES} then msg.h = h end
    end
    built[k] = { cjson.encode(msg), msg.t ~= nil or msg.h ~= nil }
    return built[k]
  end
  for i = 1, math.min(#pick, ${HANDOFF_TRIES}) do
    local w = pick[i][1]
    if i > 1 then
      redis.call('XCLAIM', KEYS[6], '${WORKER_GROUP}', w, 0, e[1], 'JUSTID')
    end
    local m = message(own and pick[i][3])
    if redis.call('PUBLISH', '${workerChannel("")}' .. w, m[1]) > 0 then
      local keeps = m[2] and w or ''
      if own and keeps ~= keeper then redis.call('HSET', KEYS[5], r.id .. ':worker', keeps) end
      return w
    end
  end
  -- Nobody listened. Our own turn goes back undelivered (as a new entry, which its turn state
  -- records); an older one stays pending for its worker's own look (OWN_TURNS) or a claim.
  if own then
    redis.call('XACK', KEYS[6], '${WORKER_GROUP}', e[1])
    redis.call('XDEL', KEYS[6], e[1])
    redis.call('HSET', KEYS[3], turn .. ':entry', redis.call('XADD', KEYS[6], '*', unpack(e[2])))
  end
  return nil
end
`;

/** A hand-off as the worker reads it: the entry, and its conversation when sent. */
export interface Handoff {
  entry: RawEntry;
  /** All of the conversation's raw members (message_members.ts): this worker keeps it now. */
  members?: string[];
  /** Only its newest members, oldest first, and how many it has: this worker kept the rest. */
  tail?: { members: string[]; count: number };
}

// Lua's cjson writes an empty table as {}: an empty list.
const strings = (v: unknown): string[] => Array.isArray(v) ? v.map(String) : [];

/** The hand-off a message carries, or null (a heartbeat, anything malformed). */
export function parseHandoff(payload: string): Handoff | null {
  if (!payload.startsWith("{")) return null;
  let raw: { e?: unknown; f?: unknown; h?: unknown; t?: unknown; n?: unknown };
  try {
    raw = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof raw?.e !== "string" || !Array.isArray(raw.f)) return null;
  const entry: RawEntry = [raw.e, raw.f.map(String)];
  if (raw.t !== undefined && typeof raw.n === "number") {
    return { entry, tail: { members: strings(raw.t), count: raw.n } };
  }
  if (raw.h === undefined) return { entry };
  return { entry, members: strings(raw.h) };
}

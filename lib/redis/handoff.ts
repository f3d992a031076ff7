// Handing a turn to a worker as it is queued: ACCEPT_TURN delivers the new entry (XREADGROUP) to
// the live worker with the most free slots and publishes it, with its conversation, on that
// worker's own channel, so the worker starts the model with no read of its own. The requests
// stream stays the source of truth: a hand-off nobody heard puts the turn back for whichever
// worker reads next, and one lost on its way finds its worker when it subscribes again
// (OWN_TURNS), or another worker claims it.
import { WORKER_GROUP } from "./keys.ts";
import type { RawEntry } from "./stream_entries.ts";

/** The pub/sub channel of one worker: hand-offs, and its own heartbeat ("hb"). */
export const workerChannel = (consumer: string) => `chat:wk:${consumer}`;

/** A hand-off carries its conversation up to this size; a longer one the worker reads itself. */
export const MAX_HANDOFF_HISTORY_BYTES = 64 * 1024;

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
 * Lua: handOff(turn, entry, conversation, candidates) after the turn's XADD; KEYS[2] is the
 * session's history, KEYS[3] its turns hash, KEYS[6] the requests stream. Load is what each worker
 * has pending (delivered and not acknowledged), so a full worker is skipped and the least loaded
 * one is chosen. Answers the worker that heard it, or nil: then the turn waits undelivered for the
 * next worker that reads (all were full, or none listened: a worker restarting reads it at once).
 * pcall: a missing group (no worker ever started) must not fail a turn that is already queued.
 */
export const HANDOFF_LUA = `
local function handOff(turn, entry, c, candidates)
  if candidates == '' then return nil end
  local p = redis.pcall('XPENDING', KEYS[6], '${WORKER_GROUP}')
  if type(p) ~= 'table' or p.err then return nil end
  local load = {}
  for _, pair in ipairs(p[4] or {}) do load[pair[1]] = tonumber(pair[2]) end
  local pick = {}
  for w, cap in string.gmatch(candidates, '(%S+) (%d+)') do
    local free = tonumber(cap) - (load[w] or 0)
    if free > 0 then pick[#pick + 1] = { w, free } end
  end
  if #pick == 0 then return nil end
  table.sort(pick, function(a, b) return a[2] > b[2] end)
  local read = redis.pcall('XREADGROUP', 'GROUP', '${WORKER_GROUP}', pick[1][1], 'COUNT', 1,
    'STREAMS', KEYS[6], '>')
  if type(read) ~= 'table' or read.err or not read[1] then return nil end
  local e = read[1][2][1]
  local msg = { e = e[1], f = e[2] }
  -- An older turn (a backlog) comes without its conversation: its session's keys are not ours.
  if e[1] == entry then
    local h = redis.call('ZRANGEBYLEX', KEYS[2], bounds(c))
    local size = 0
    for _, m in ipairs(h) do size = size + #m end
    if size <= ${MAX_HANDOFF_HISTORY_BYTES} then msg.h = h end
  end
  local payload = cjson.encode(msg)
  for i = 1, math.min(#pick, ${HANDOFF_TRIES}) do
    if i > 1 then
      redis.call('XCLAIM', KEYS[6], '${WORKER_GROUP}', pick[i][1], 0, e[1], 'JUSTID')
    end
    local heard = redis.call('PUBLISH', '${workerChannel("")}' .. pick[i][1], payload)
    if heard > 0 then return pick[i][1] end
  end
  -- Nobody listened. Our own turn goes back undelivered (as a new entry, which its turn state
  -- records); an older one stays pending for its worker's own look (OWN_TURNS) or a claim.
  if e[1] == entry then
    redis.call('XACK', KEYS[6], '${WORKER_GROUP}', e[1])
    redis.call('XDEL', KEYS[6], e[1])
    redis.call('HSET', KEYS[3], turn .. ':entry', redis.call('XADD', KEYS[6], '*', unpack(e[2])))
  end
  return nil
end
`;

/** A hand-off as the worker reads it: the entry, and its conversation's members when sent. */
export interface Handoff {
  entry: RawEntry;
  /** Raw history members (message_members.ts); absent when too large to send. */
  members?: string[];
}

/** The hand-off a message carries, or null (a heartbeat, anything malformed). */
export function parseHandoff(payload: string): Handoff | null {
  if (!payload.startsWith("{")) return null;
  let raw: { e?: unknown; f?: unknown; h?: unknown };
  try {
    raw = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof raw?.e !== "string" || !Array.isArray(raw.f)) return null;
  const entry: RawEntry = [raw.e, raw.f.map(String)];
  if (raw.h === undefined) return { entry };
  // Lua's cjson writes an empty table as {}: an empty conversation.
  return { entry, members: Array.isArray(raw.h) ? raw.h.map(String) : [] };
}

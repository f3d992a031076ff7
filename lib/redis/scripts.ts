// Lua scripts: each state change of a turn happens atomically in one round trip, which is what
// makes "one turn, one reply in history" hold with many web servers and workers.
// Session keys are always passed in the order of sessionKeys(): session, history, turns, replies.

const refreshTtl = `
local function refresh(ttl)
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
end
`;

/**
 * Accept a user turn. KEYS: session keys + requests stream.
 * ARGV: turn id, content, timestamp, ttl, token.
 * Returns -1 session gone, 0 duplicate id (nothing written), 1 queued.
 */
export const ACCEPT_TURN = refreshTtl + `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[3], ARGV[1], 'queued') == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'role', 'user', 'content', ARGV[2], 'ts', ARGV[3])
redis.call('XADD', KEYS[5], '*', 'token', ARGV[5], 'turn', ARGV[1])
refresh(ARGV[4])
return 1
`;

/**
 * Append streamed text to the reply stream. KEYS: session keys.
 * ARGV: turn id, text, offset, ttl.
 * Returns -1 session gone, -2 turn no longer streaming, 1 stop requested, 0 go on.
 */
export const APPEND_DELTA = refreshTtl + `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[3], ARGV[1]) ~= 'queued' then return -2 end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*',
  'type', 'delta', 'id', ARGV[1], 'text', ARGV[2], 'offset', ARGV[3])
refresh(ARGV[4])
return redis.call('HEXISTS', KEYS[3], ARGV[1] .. ':stop')
`;

/**
 * Finish a turn: commit the reply to history (or record the failure), tell the client, and XACK,
 * all at once. Only the consumer that still owns the request may do it (fencing against a worker
 * that was presumed dead). KEYS: session keys + requests stream.
 * ARGV: turn id, group, consumer, request entry id, ttl, outcome ('done' | 'failed'),
 *   done: content, timestamp, stopped ('1' | '0'); failed: error code, error message.
 * Returns -1 session gone (acked), -2 already finished (acked), -3 not the owner, 1 committed.
 */
export const FINISH_TURN = refreshTtl + `
local owner = redis.call('XPENDING', KEYS[5], ARGV[2], ARGV[4], ARGV[4], 1, ARGV[3])
if #owner == 0 then return -3 end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XACK', KEYS[5], ARGV[2], ARGV[4])
  return -1
end
if redis.call('HGET', KEYS[3], ARGV[1]) ~= 'queued' then
  redis.call('XACK', KEYS[5], ARGV[2], ARGV[4])
  return -2
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[6])
redis.call('HDEL', KEYS[3], ARGV[1] .. ':stop')
if ARGV[6] == 'done' then
  local mid = ARGV[1] .. ':a'
  if ARGV[7] ~= '' then
    redis.call('XADD', KEYS[2], '*', 'id', mid, 'role', 'assistant', 'content', ARGV[7], 'ts', ARGV[8])
  end
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', 'type', 'done', 'id', ARGV[1],
    'mid', mid, 'content', ARGV[7], 'ts', ARGV[8], 'stopped', ARGV[9])
else
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', 'type', 'error', 'id', ARGV[1],
    'code', ARGV[7], 'message', ARGV[8])
end
redis.call('XACK', KEYS[5], ARGV[2], ARGV[4])
refresh(ARGV[5])
return 1
`;

/**
 * A busy worker's heartbeat over its in-flight turns: keeps each request's idle time low so no
 * other worker reclaims it, and reports per turn 1 stop requested, 0 go on, -1 ownership lost.
 * KEYS: requests stream, then each turn's "turns" hash. ARGV: group, consumer, then entry id and
 * turn id pairs.
 */
export const HEARTBEAT = `
local out = {}
for i = 2, #KEYS do
  local entry, turn = ARGV[2 * i - 1], ARGV[2 * i]
  local owner = redis.call('XPENDING', KEYS[1], ARGV[1], entry, entry, 1, ARGV[2])
  if #owner == 0 then
    out[#out + 1] = -1
  else
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, entry, 'JUSTID')
    out[#out + 1] = redis.call('HEXISTS', KEYS[i], turn .. ':stop')
  end
end
return out
`;

/**
 * Trim the requests stream up to the oldest entry some consumer may still need: the oldest
 * pending one, or else the last one delivered. KEYS: requests stream. ARGV: group.
 */
export const TRIM_REQUESTS = `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
local keep = pending[2]
if not keep then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    for j = 1, #g, 2 do
      if g[j] == 'name' and g[j + 1] == ARGV[1] then
        for k = 1, #g, 2 do if g[k] == 'last-delivered-id' then keep = g[k + 1] end end
      end
    end
  end
end
if not keep then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', keep)
`;

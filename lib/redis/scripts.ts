// Lua scripts: each state change of a turn happens atomically in one round trip, which is what
// makes "one turn, one reply in history" hold with many web servers and workers. Each script
// returns one of its named outcomes (decoded once, in script_runner.ts), never a bare number.
// Session keys are passed in the order of sessionKeyList(): session, history, turns, replies.
// Every key a script touches is in KEYS, so Upstash may run them under key locks instead of its
// global lock (`allow-key-locking`; the local bridge strips the flag, which Redis 7.0 rejects).

export interface Script<O extends string> {
  readonly name: string;
  readonly lua: string;
  readonly outcomes: readonly O[];
}

const SHEBANG = "#!lua flags=allow-key-locking\n";

function script<const O extends readonly string[]>(
  name: string,
  outcomes: O,
  lua: string,
): Script<O[number]> {
  return { name, lua: SHEBANG + lua, outcomes };
}

const refreshTtl = `
local function refresh(ttl)
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
end
`;

/**
 * Accept a user turn. KEYS: session keys + requests stream.
 * ARGV: turn id, content, timestamp, ttl, token.
 */
export const ACCEPT_TURN = script(
  "accept_turn",
  ["queued", "duplicate", "session_gone"],
  refreshTtl + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'session_gone' end
if redis.call('HSETNX', KEYS[3], ARGV[1], 'queued') == 0 then return 'duplicate' end
redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'role', 'user', 'content', ARGV[2], 'ts', ARGV[3])
local entry = redis.call('XADD', KEYS[5], '*', 'token', ARGV[5], 'turn', ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1] .. ':entry', entry)
refresh(ARGV[4])
return 'queued'
`,
);

/** Ask the worker running a turn to stop it. KEYS: session keys. ARGV: turn id. */
export const REQUEST_STOP = script(
  "request_stop",
  ["stopping", "not_running"],
  `
if redis.call('HGET', KEYS[3], ARGV[1]) ~= 'queued' then return 'not_running' end
redis.call('HSET', KEYS[3], ARGV[1] .. ':stop', '1')
return 'stopping'
`,
);

/**
 * Append streamed text to the reply stream. KEYS: session keys.
 * ARGV: turn id, ttl, then the ReplyEntry's field/value pairs.
 */
export const APPEND_DELTA = script(
  "append_delta",
  ["go_on", "stop", "session_gone", "not_streaming"],
  refreshTtl + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'session_gone' end
if redis.call('HGET', KEYS[3], ARGV[1]) ~= 'queued' then return 'not_streaming' end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', unpack(ARGV, 3))
refresh(ARGV[2])
if redis.call('HEXISTS', KEYS[3], ARGV[1] .. ':stop') == 1 then return 'stop' end
return 'go_on'
`,
);

/**
 * Finish a turn: commit the reply to history (or record the failure), tell the client, and XACK,
 * all at once. Only the consumer that still owns the request may do it (fencing against a worker
 * that was presumed dead). KEYS: session keys + requests stream.
 * ARGV: turn id, group, consumer, request entry id, ttl, new state ('done' | 'failed'),
 *   assistant message id, content for history ('' for none), timestamp, then the ReplyEntry's
 *   field/value pairs.
 */
export const FINISH_TURN = script(
  "finish_turn",
  ["committed", "session_gone", "already_finished", "not_owner"],
  refreshTtl + `
local owner = redis.call('XPENDING', KEYS[5], ARGV[2], ARGV[4], ARGV[4], 1, ARGV[3])
if #owner == 0 then return 'not_owner' end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XACK', KEYS[5], ARGV[2], ARGV[4])
  return 'session_gone'
end
if redis.call('HGET', KEYS[3], ARGV[1]) ~= 'queued' then
  redis.call('XACK', KEYS[5], ARGV[2], ARGV[4])
  return 'already_finished'
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[6])
redis.call('HDEL', KEYS[3], ARGV[1] .. ':stop', ARGV[1] .. ':entry')
if ARGV[8] ~= '' then
  redis.call('XADD', KEYS[2], '*', 'id', ARGV[7], 'role', 'assistant', 'content', ARGV[8],
    'ts', ARGV[9])
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', unpack(ARGV, 10))
redis.call('XACK', KEYS[5], ARGV[2], ARGV[4])
refresh(ARGV[5])
return 'committed'
`,
);

/**
 * End a turn no worker will finish, from the web server: one the user stopped that is still
 * running after the grace period, or one whose worker died with no other claiming it. What the
 * user saw is committed (as a stopped reply) and the request is taken out of the queue, so a
 * worker that comes back later cannot overwrite it. KEYS: session keys + requests stream.
 * ARGV: turn id, group, mode ('stop' | 'orphan'), idle ms after which a pending request counts as
 *   abandoned, '1' when no worker can serve (so a request never delivered is abandoned too), the
 *   last reply-stream id the caller read (any later write means a worker is alive: 'changed'),
 *   ttl, assistant message id, content seen ('' for none), timestamp, then the ReplyEntry's
 *   pairs.
 */
export const END_ABANDONED = script(
  "end_abandoned",
  ["ended", "finished", "alive", "waiting", "changed", "session_gone"],
  refreshTtl + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'session_gone' end
if redis.call('HGET', KEYS[3], ARGV[1]) ~= 'queued' then return 'finished' end
local entry = redis.call('HGET', KEYS[3], ARGV[1] .. ':entry')
if ARGV[3] == 'orphan' and entry then
  local pending = redis.call('XPENDING', KEYS[5], ARGV[2], entry, entry, 1)
  if #pending > 0 then
    if tonumber(pending[1][3]) < tonumber(ARGV[4]) then return 'alive' end
  elseif ARGV[5] ~= '1' then
    return 'waiting'
  end
end
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local lastId = last[1] and last[1][1] or '0-0'
if lastId ~= ARGV[6] then return 'changed' end
local state = 'failed'
if ARGV[9] ~= '' then
  redis.call('XADD', KEYS[2], '*', 'id', ARGV[8], 'role', 'assistant', 'content', ARGV[9],
    'ts', ARGV[10])
  state = 'done'
end
if ARGV[3] == 'stop' then state = 'done' end
redis.call('HSET', KEYS[3], ARGV[1], state)
redis.call('HDEL', KEYS[3], ARGV[1] .. ':stop', ARGV[1] .. ':entry')
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', unpack(ARGV, 11))
if entry then
  redis.call('XACK', KEYS[5], ARGV[2], entry)
  redis.call('XDEL', KEYS[5], entry)
end
refresh(ARGV[7])
return 'ended'
`,
);

/**
 * A busy worker's heartbeat over its in-flight turns: keeps each request's idle time low so no
 * other worker reclaims it, and reports per turn whether to go on, stop, or let go (another
 * worker owns it now). KEYS: requests stream, then each turn's "turns" hash.
 * ARGV: group, consumer, then entry id and turn id pairs.
 */
export const HEARTBEAT = script(
  "heartbeat",
  ["go_on", "stop", "lost"],
  `
local out = {}
for i = 2, #KEYS do
  local entry, turn = ARGV[2 * i - 1], ARGV[2 * i]
  local owner = redis.call('XPENDING', KEYS[1], ARGV[1], entry, entry, 1, ARGV[2])
  if #owner == 0 then
    out[#out + 1] = 'lost'
  else
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, entry, 'JUSTID')
    out[#out + 1] = redis.call('HEXISTS', KEYS[i], turn .. ':stop') == 1 and 'stop' or 'go_on'
  end
end
return out
`,
);

/**
 * Trim the requests stream up to the oldest entry some consumer may still need: the oldest
 * pending one, or else the last one delivered. KEYS: requests stream. ARGV: group.
 */
export const TRIM_REQUESTS = script(
  "trim_requests",
  ["trimmed", "nothing_to_trim"],
  `
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
if not keep then return 'nothing_to_trim' end
if redis.call('XTRIM', KEYS[1], 'MINID', keep) == 0 then return 'nothing_to_trim' end
return 'trimmed'
`,
);

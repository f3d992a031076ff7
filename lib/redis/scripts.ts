// Lua scripts: each state change of a turn happens atomically in one round trip, which is what
// makes "one turn, one reply in history" hold with many web servers and workers. Each script
// returns one of its named outcomes (decoded once, in script_runner.ts), never a bare number.
// Session keys are passed in the order of sessionKeyList(): session, history, turns, replies,
// conversations (session_lua.ts has the helpers over them).
// Every key a script touches is in KEYS, so Upstash may run them under key locks instead of its
// global lock (`allow-key-locking`; the local bridge strips the flag, which Redis 7.0 rejects).
// Writes to a reply stream publish a hint (reply_hint.ts) to the web servers holding the session.
import { HANDOFF_LUA } from "./handoff.ts";
import { HOLDERS_FIELD } from "./reply_hint.ts";
import { SESSION_LUA } from "./session_lua.ts";

export interface Script<O extends string> {
  readonly name: string;
  readonly lua: string;
  readonly outcomes: readonly O[];
}

/** The turns-hash field holding the session's turn admissions (see ACCEPT_TURN). */
export const RATE_FIELD = ":rl";
/** The turns-hash field holding when (ms) ACCEPT_TURN last slid the session's TTL. */
export const SLID_FIELD = ":slid";

const SHEBANG = "#!lua flags=allow-key-locking\n";

export function script<const O extends readonly string[]>(
  name: string,
  outcomes: O,
  lua: string,
): Script<O[number]> {
  return { name, lua: SHEBANG + lua, outcomes };
}

/** refresh(ttl) over every session key, the conversation helpers and notify()/hint(). */
const refreshTtl = SESSION_LUA;

/**
 * Accept a user turn in a conversation: a new message, an edit (the edited message and everything
 * after it go) or a regenerate (the replies after the last user message go, and it is answered
 * again). The default conversation is created on its first turn. Writes the turn's `user` event,
 * and a `conversation` event when the conversation was created or got its title.
 * The session's turn rate limit is an exact sliding log of admission times (ms) in the turns hash
 * (RATE_FIELD): at most `limit` admissions in any `window` ms, checked and written here at no extra
 * command; a refused turn answers `{ 'rate_limited', <ms until one is admitted> }`.
 * KEYS: session keys + requests stream.
 * ARGV: turn id, content, timestamp, ttl, token, request id (for the worker's log lines),
 *   conversation, kind ('message' | 'edit' | 'regenerate'), target (edit: the message replaced;
 *   message: a failed message it retries; else ''), the new message's JSON ('' for regenerate),
 *   title from the message, the conversation limit, '1' when the conversation may be created,
 *   now (ms), rate window (ms), rate limit, the user's name (for the worker's system prompt),
 *   the workers it may be handed to (handoff.ts: candidatesArg). A queued turn handed to a worker
 *   answers `{ 'queued', <worker> }`.
 */
export const ACCEPT_TURN = script(
  "accept_turn",
  [
    "queued",
    "duplicate",
    "session_gone",
    "conversation_not_found",
    "too_many_conversations",
    "busy",
    "no_such_message",
    "rate_limited",
  ],
  refreshTtl + HANDOFF_LUA + `
local turn, ts, ttl, c, kind, target = ARGV[1], ARGV[3], tonumber(ARGV[4]), ARGV[7], ARGV[8], ARGV[9]
local seen = redis.call('HMGET', KEYS[3], turn, '${HOLDERS_FIELD}', '${RATE_FIELD}', '${SLID_FIELD}')
if seen[1] then return 'duplicate' end
local now, window, limit = tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16])
local admitted = {}
for t in string.gmatch(seen[3] or '', '%d+') do
  if tonumber(t) > now - window then admitted[#admitted + 1] = t end
end
if #admitted >= limit then
  return { 'rate_limited', tostring(tonumber(admitted[#admitted - limit + 1]) + window - now) }
end
local r = load(c)
-- A plain message in a conversation that has messages, in a session that has had turns, creates
-- no key, and those keys exist: the session is alive. Anything else checks, and slides the TTL.
local plain = kind == 'message' and target == '' and (tonumber(r.count) or 0) > 0 and seen[3]
if not plain and redis.call('EXISTS', KEYS[1]) == 0 then return 'session_gone' end
local changed = false
if not r.exists then
  if ARGV[13] ~= '1' then return 'conversation_not_found' end
  if kind ~= 'message' then return 'no_such_message' end
  if conversationCount() >= tonumber(ARGV[12]) then return 'too_many_conversations' end
  create(r, '', ts)
  changed = true
end
local list = running(r)
if kind ~= 'message' and #list > 0 then return 'busy' end
local user = { 'type', 'user', 'id', turn, 'conv', c }
local askSeq, json, ask = nil, ARGV[10], turn
if kind == 'regenerate' then
  askSeq, json, ask = reopenLast(r, ts)
  if not askSeq then return 'no_such_message' end
  user[#user + 1], user[#user + 2] = 'regen', '1'
else
  if kind == 'edit' then
    if not cutFrom(r, target) then return 'no_such_message' end
    user[#user + 1], user[#user + 2] = 'edited', target
  elseif target ~= '' and dropFailed(r, target) then
    user[#user + 1], user[#user + 2] = 'retried', target
  end
  askSeq = addMessage(r, 'u', turn, json, ts)
  if (r.title or '') == '' and not r.renamed and ARGV[11] ~= '' then
    set(r, 'title', ARGV[11])
    changed = true
  end
end
list[#list + 1] = turn
set(r, 'running', table.concat(list, ' '))
save(r)
local entry = redis.call('XADD', KEYS[6], '*', 'token', ARGV[5], 'turn', turn, 'rid', ARGV[6],
  'conv', c, 'ask', ask, 'name', ARGV[17])
admitted[#admitted + 1] = ARGV[14]
local state = { turn, 'queued', turn .. ':c', c, turn .. ':q', askSeq, turn .. ':entry', entry,
  '${RATE_FIELD}', table.concat(admitted, ' ') }
-- The TTL slides in steps (at most once a minute), not on every turn: Upstash bills each EXPIRE.
local slide = not plain or now - (tonumber(seen[4]) or 0) >= 1000 * math.min(60, math.max(1, math.floor(ttl / 60)))
if slide then state[#state + 1], state[#state + 2] = '${SLID_FIELD}', ARGV[14] end
-- ':u' names the user message this turn wrote (a regenerate answers an older one).
if kind ~= 'regenerate' then state[#state + 1], state[#state + 2] = turn .. ':u', askSeq end
redis.call('HSET', KEYS[3], unpack(state))
if changed then emitConversation(r) end
user[#user + 1] = 'message'
user[#user + 1] = json
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', unpack(user))
hint(id, user, seen[2])
if slide then refresh(ttl) end
local worker = handOff(turn, entry, r, ARGV[18])
if worker then return { 'queued', worker } end
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
 * Append streamed text to the reply stream: the hot path, so one HMGET reads the turn's state, its
 * stop flag and the holders to tell, and the TTL is left to ACCEPT_TURN. KEYS: session keys.
 * ARGV: turn id, then the ReplyEntry's field/value pairs.
 */
export const APPEND_DELTA = script(
  "append_delta",
  ["go_on", "stop", "session_gone", "not_streaming"],
  refreshTtl + `
local t = redis.call('HMGET', KEYS[3], ARGV[1], ARGV[1] .. ':stop', '${HOLDERS_FIELD}')
if not t[1] then return 'session_gone' end
if t[1] ~= 'queued' then return 'not_streaming' end
notify(redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', unpack(ARGV, 2)), 2, t[3])
if t[2] then return 'stop' end
return 'go_on'
`,
);

/**
 * Finish a turn: commit the reply to its conversation (or mark the user message failed), tell the
 * client, and XACK, all at once. Only the consumer that still owns the request may do it (fencing
 * against a worker that was presumed dead). Nothing is written to a conversation that was deleted
 * meanwhile. The reply's last delta, when still unsent, rides along (one request, not two).
 * KEYS: session keys + requests stream.
 * ARGV: turn id, group, consumer, request entry id, new state ('done' | 'failed'),
 *   assistant message id, its JSON ('' for none), timestamp, the failure's JSON ('' for none),
 *   n (0, or the number of the last delta's field/value items), the delta's n items, then the
 *   ending ReplyEntry's field/value pairs.
 */
export const FINISH_TURN = script(
  "finish_turn",
  ["committed", "session_gone", "already_finished", "not_owner"],
  refreshTtl + `
local owner = redis.call('XPENDING', KEYS[6], ARGV[2], ARGV[4], ARGV[4], 1, ARGV[3])
if #owner == 0 then return 'not_owner' end
-- A turn's state, conversation, asked message and the holders to tell, in one read. No state at
-- all means the session (whose keys share one TTL) is gone.
local t = redis.call('HMGET', KEYS[3], ARGV[1], ARGV[1] .. ':c', ARGV[1] .. ':q',
  '${HOLDERS_FIELD}')
if not t[1] then
  redis.call('XACK', KEYS[6], ARGV[2], ARGV[4])
  return 'session_gone'
end
if t[1] ~= 'queued' then
  redis.call('XACK', KEYS[6], ARGV[2], ARGV[4])
  return 'already_finished'
end
-- Its ':stop' and ':entry' fields stay until the session expires: only a queued turn reads them.
redis.call('HSET', KEYS[3], ARGV[1], ARGV[5])
local c, seq = t[2], t[3]
local r = c and seq and load(c)
if r and r.exists and isRunning(r, ARGV[1]) then
  if ARGV[7] ~= '' then addMessage(r, 'a', ARGV[6], ARGV[7], ARGV[8])
  elseif ARGV[9] ~= '' then
    local asked = memberAt(c, seq)
    if asked then setFailure(r, asked, ARGV[9]) end
  end
  withoutRunning(r, ARGV[1])
  save(r)
end
local n = tonumber(ARGV[10])
if n > 0 then
  notify(redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', unpack(ARGV, 11, 10 + n)), 11,
    t[4], 10 + n)
end
notify(redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', unpack(ARGV, 11 + n)), 11 + n,
  t[4])
redis.call('XACK', KEYS[6], ARGV[2], ARGV[4])
return 'committed'
`,
);

/**
 * End a turn no worker will finish, from the web server: one the user stopped that is still
 * running after the grace period, or one whose worker died with no other claiming it. What the
 * user saw is committed (as a stopped reply; an orphan with nothing seen marks its message failed)
 * and the request is taken out of the queue, so a worker that comes back later cannot overwrite
 * it. KEYS: session keys + requests stream.
 * ARGV: turn id, group, mode ('stop' | 'orphan'), idle ms after which a pending request counts as
 *   abandoned, '1' when no worker can serve (so a request never delivered is abandoned too), the
 *   last reply-stream id the caller read (any later write means a worker is alive: 'changed'),
 *   assistant message id, its JSON ('' for none), timestamp, the failure's JSON, then the
 *   ReplyEntry's pairs.
 */
export const END_ABANDONED = script(
  "end_abandoned",
  ["ended", "finished", "alive", "waiting", "changed", "session_gone"],
  refreshTtl + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'session_gone' end
local t = redis.call('HMGET', KEYS[3], ARGV[1], ARGV[1] .. ':entry', ARGV[1] .. ':c',
  ARGV[1] .. ':q', '${HOLDERS_FIELD}')
if t[1] ~= 'queued' then return 'finished' end
local entry = t[2] or nil
if ARGV[3] == 'orphan' and entry then
  local pending = redis.call('XPENDING', KEYS[6], ARGV[2], entry, entry, 1)
  if #pending > 0 then
    if tonumber(pending[1][3]) < tonumber(ARGV[4]) then return 'alive' end
  elseif ARGV[5] ~= '1' then
    return 'waiting'
  end
end
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local lastId = last[1] and last[1][1] or '0-0'
if lastId ~= ARGV[6] then return 'changed' end
local c, seq = t[3], t[4]
local r = c and seq and load(c)
local asked = r and r.exists and isRunning(r, ARGV[1])
local state = 'failed'
if ARGV[8] ~= '' then
  if asked then addMessage(r, 'a', ARGV[7], ARGV[8], ARGV[9]) end
  state = 'done'
elseif ARGV[3] ~= 'stop' and asked then
  local m = memberAt(c, seq)
  if m then setFailure(r, m, ARGV[10]) end
end
if asked then
  withoutRunning(r, ARGV[1])
  save(r)
end
if ARGV[3] == 'stop' then state = 'done' end
redis.call('HSET', KEYS[3], ARGV[1], state)
redis.call('HDEL', KEYS[3], ARGV[1] .. ':stop', ARGV[1] .. ':entry')
notify(redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', unpack(ARGV, 11)), 11, t[5])
if entry then
  redis.call('XACK', KEYS[6], ARGV[2], entry)
  redis.call('XDEL', KEYS[6], entry)
end
return 'ended'
`,
);

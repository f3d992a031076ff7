// Lua helpers shared by the scripts that change a session (scripts.ts, conversation_scripts.ts):
// its one sliding TTL, its conversations and their messages (see message_members.ts for the
// member layout), and events written to its reply stream. They index KEYS in sessionKeyList()'s
// order: 1 session, 2 history (messages), 3 turns, 4 replies, 5 conversations.
import { HOLDERS_FIELD, NOTIFY_LUA } from "./reply_hint.ts";

/** How many of a script's first KEYS are the session's keys (sessionKeyList().length). */
export const SESSION_KEY_COUNT = 5;

export const SESSION_LUA = NOTIFY_LUA + `
local function refresh(ttl)
  for i = 1, ${SESSION_KEY_COUNT} do redis.call('EXPIRE', KEYS[i], ttl) end
end

local function pad(n) return string.format('%010d', tonumber(n)) end
-- The [min, max) ZRANGEBYLEX bounds of conversation c's messages (conversationRange() in TS).
local function bounds(c) return '[' .. c .. ':', '(' .. c .. ';' end
local function conversationCount()
  local n = 0
  for _, f in ipairs(redis.call('HKEYS', KEYS[5])) do
    if string.sub(f, -8) == ':created' then n = n + 1 end
  end
  return n
end
-- A conversation as a record: its fields come in one HMGET (load) and changes go out in one HSET
-- (save), because Upstash bills every command a script runs. 'worker' names the worker that was
-- handed the whole conversation and keeps it (handoff.ts); it holds only while no message up to
-- then changes, so every helper below that changes or removes a message calls forget(r).
local CONV_FIELDS = { 'created', 'updated', 'title', 'renamed', 'count', 'seq', 'running', 'worker' }
local function load(c)
  local names = {}
  for i, f in ipairs(CONV_FIELDS) do names[i] = c .. ':' .. f end
  local v = redis.call('HMGET', KEYS[5], unpack(names))
  local r = { id = c, dirty = {} }
  for i, f in ipairs(CONV_FIELDS) do r[f] = v[i] or nil end
  r.exists = r.created ~= nil
  return r
end
local function set(r, f, v)
  r[f] = v
  r.dirty[f] = true
end
local function save(r)
  local args = {}
  for _, f in ipairs(CONV_FIELDS) do
    if r.dirty[f] then
      args[#args + 1] = r.id .. ':' .. f
      args[#args + 1] = r[f]
    end
  end
  if #args > 0 then redis.call('HSET', KEYS[5], unpack(args)) end
  r.dirty = {}
end
local function create(r, title, ts)
  for f, v in pairs({ created = ts, updated = ts, title = title, count = 0, seq = 0, running = '' }) do
    set(r, f, v)
  end
  r.exists = true
end
local function addCount(r, n) set(r, 'count', (tonumber(r.count) or 0) + n) end
local function forget(r)
  if (r.worker or '') ~= '' then set(r, 'worker', '') end
end
-- The member at seq in conversation c, or nil.
local function memberAt(c, seq)
  local p = c .. ':' .. pad(seq) .. ':'
  return redis.call('ZRANGEBYLEX', KEYS[2], '[' .. p, '(' .. c .. ':' .. pad(seq) .. ';',
    'LIMIT', 0, 1)[1]
end
-- role ('u' | 'a'), seq and id of a member.
local function parts(m)
  local seq, role, id = string.match(m, '^[^:]+:(%d+):(%a):([^ ]+) ')
  return role, seq, id
end
local function messageJson(m)
  local json = string.sub(m, string.find(m, ' ', 1, true) + 1)
  local nl = string.find(json, '\\n', 1, true)
  if nl then json = string.sub(json, 1, nl - 1) end
  return json
end
local function addMessage(r, role, id, json, ts)
  local seq = (tonumber(r.seq) or 0) + 1
  set(r, 'seq', seq)
  redis.call('ZADD', KEYS[2], 0, r.id .. ':' .. pad(seq) .. ':' .. role .. ':' .. id .. ' ' .. json)
  addCount(r, 1)
  set(r, 'updated', ts)
  return seq
end
-- Replaces member m of r by the same message with (errjson) or without ('') a failure attached.
local function setFailure(r, m, errjson)
  local prefix = string.sub(m, 1, string.find(m, ' ', 1, true))
  local updated = prefix .. messageJson(m)
  if errjson ~= '' then updated = updated .. '\\n' .. errjson end
  if updated ~= m then
    forget(r)
    redis.call('ZREM', KEYS[2], m)
    redis.call('ZADD', KEYS[2], 0, updated)
  end
  return updated
end
-- The member of user message \`id\` (its turn made it) in c, or nil.
local function userMessage(c, id)
  if redis.call('HGET', KEYS[3], id .. ':c') ~= c then return nil end
  local seq = redis.call('HGET', KEYS[3], id .. ':u')
  return seq and memberAt(c, seq), seq
end
-- Regenerate: drops the replies after r's last user message and clears its failure; returns its
-- seq, JSON and id (nil when r has no user message).
local function reopenLast(r, ts)
  local min, max = bounds(r.id)
  local tail = redis.call('ZREVRANGEBYLEX', KEYS[2], max, min, 'LIMIT', 0, 64)
  local at
  for i, m in ipairs(tail) do
    if parts(m) == 'u' then
      at = i
      break
    end
  end
  if not at then return nil end
  if at > 1 then forget(r) end
  for i = 1, at - 1 do redis.call('ZREM', KEYS[2], tail[i]) end
  addCount(r, 1 - at)
  local m = setFailure(r, tail[at], '')
  local _, seq, id = parts(m)
  set(r, 'updated', ts)
  return seq, messageJson(m), id
end
-- Edit: removes user message \`id\` and everything after it; false when it is not one of r's.
local function cutFrom(r, id)
  local c = r.id
  local m, seq = userMessage(c, id)
  if not m then return false end
  local _, max = bounds(c)
  local gone = redis.call('ZREMRANGEBYLEX', KEYS[2], '[' .. c .. ':' .. pad(seq) .. ':', max)
  forget(r)
  addCount(r, -gone)
  return true
end
-- Retry: removes user message \`id\` if its turn failed; true when it did.
local function dropFailed(r, id)
  local m = userMessage(r.id, id)
  if not m or not string.find(m, '\\n', 1, true) then return false end
  forget(r)
  redis.call('ZREM', KEYS[2], m)
  addCount(r, -1)
  return true
end
-- Turns of r still running, oldest first ('running' holds their ids, space-separated).
local function running(r)
  local out = {}
  for t in string.gmatch(r.running or '', '%S+') do
    if redis.call('HGET', KEYS[3], t) == 'queued' then out[#out + 1] = t end
  end
  return out
end
-- Whether \`turn\` is in r's running list (its asked message is then still there: edits and
-- regenerates wait for running turns, and a delete takes the list with it).
local function isRunning(r, turn)
  for t in string.gmatch(r.running or '', '%S+') do
    if t == turn then return true end
  end
  return false
end
local function withoutRunning(r, turn)
  local out = {}
  for t in string.gmatch(r.running or '', '%S+') do
    if t ~= turn then out[#out + 1] = t end
  end
  set(r, 'running', table.concat(out, ' '))
end
-- Appends a reply event (field/value pairs) to the session's reply stream.
local function emit(fields)
  local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', unpack(fields))
  hint(id, fields, redis.call('HGET', KEYS[3], '${HOLDERS_FIELD}'))
  return id
end
-- After save(r): the conversation as every tab lists it.
local function emitConversation(r)
  return emit({ 'type', 'conversation', 'id', r.id, 'conv', r.id, 'title', r.title or '',
    'created', r.created or '', 'updated', r.updated or '', 'count', tostring(r.count or 0) })
end
`;

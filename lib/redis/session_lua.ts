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
local function cget(c, f) return redis.call('HGET', KEYS[5], c .. ':' .. f) end
local function cset(c, f, v) redis.call('HSET', KEYS[5], c .. ':' .. f, v) end
local function exists(c) return redis.call('HEXISTS', KEYS[5], c .. ':created') == 1 end
local function conversationCount()
  local n = 0
  for _, f in ipairs(redis.call('HKEYS', KEYS[5])) do
    if string.sub(f, -8) == ':created' then n = n + 1 end
  end
  return n
end
local function createConversation(c, title, ts)
  redis.call('HSET', KEYS[5], c .. ':created', ts, c .. ':updated', ts, c .. ':title', title,
    c .. ':count', 0, c .. ':seq', 0, c .. ':running', '')
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
local function addMessage(c, role, id, json, ts)
  local seq = redis.call('HINCRBY', KEYS[5], c .. ':seq', 1)
  redis.call('ZADD', KEYS[2], 0, c .. ':' .. pad(seq) .. ':' .. role .. ':' .. id .. ' ' .. json)
  redis.call('HINCRBY', KEYS[5], c .. ':count', 1)
  cset(c, 'updated', ts)
  return seq
end
-- Replaces member m by the same message with (errjson) or without ('') a failure attached.
local function setFailure(m, errjson)
  local prefix = string.sub(m, 1, string.find(m, ' ', 1, true))
  local updated = prefix .. messageJson(m)
  if errjson ~= '' then updated = updated .. '\\n' .. errjson end
  if updated ~= m then
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
-- Regenerate: drops the replies after c's last user message and clears its failure; returns its
-- seq, JSON and id (nil when c has no user message).
local function reopenLast(c, ts)
  local tail = redis.call('ZREVRANGEBYLEX', KEYS[2], '(' .. c .. ';', '[' .. c .. ':', 'LIMIT', 0, 64)
  local at
  for i, m in ipairs(tail) do
    if parts(m) == 'u' then
      at = i
      break
    end
  end
  if not at then return nil end
  for i = 1, at - 1 do
    redis.call('ZREM', KEYS[2], tail[i])
    redis.call('HINCRBY', KEYS[5], c .. ':count', -1)
  end
  local m = setFailure(tail[at], '')
  local _, seq, id = parts(m)
  cset(c, 'updated', ts)
  return seq, messageJson(m), id
end
-- Edit: removes user message \`id\` and everything after it; false when it is not one of c's.
local function cutFrom(c, id)
  local m, seq = userMessage(c, id)
  if not m then return false end
  local gone = redis.call('ZREMRANGEBYLEX', KEYS[2], '[' .. c .. ':' .. pad(seq) .. ':',
    '(' .. c .. ';')
  redis.call('HINCRBY', KEYS[5], c .. ':count', -gone)
  return true
end
-- Retry: removes user message \`id\` if its turn failed; true when it did.
local function dropFailed(c, id)
  local m = userMessage(c, id)
  if not m or not string.find(m, '\\n', 1, true) then return false end
  redis.call('ZREM', KEYS[2], m)
  redis.call('HINCRBY', KEYS[5], c .. ':count', -1)
  return true
end
-- Turns of c still running, oldest first ('running' holds their ids, space-separated).
local function running(c)
  local out = {}
  for t in string.gmatch(cget(c, 'running') or '', '%S+') do
    if redis.call('HGET', KEYS[3], t) == 'queued' then out[#out + 1] = t end
  end
  return out
end
local function setRunning(c, list)
  if exists(c) then cset(c, 'running', table.concat(list, ' ')) end
end
local function withoutRunning(c, turn)
  local out = {}
  for t in string.gmatch(cget(c, 'running') or '', '%S+') do
    if t ~= turn then out[#out + 1] = t end
  end
  cset(c, 'running', table.concat(out, ' '))
end
-- Appends a reply event (field/value pairs) to the session's reply stream.
local function emit(fields)
  local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', '5000', '*', unpack(fields))
  hint(id, fields, redis.call('HGET', KEYS[3], '${HOLDERS_FIELD}'))
  return id
end
local function emitConversation(c)
  local f = redis.call('HMGET', KEYS[5], c .. ':title', c .. ':created', c .. ':updated',
    c .. ':count')
  return emit({ 'type', 'conversation', 'id', c, 'conv', c, 'title', f[1] or '',
    'created', f[2] or '', 'updated', f[3] or '', 'count', f[4] or '0' })
end
`;

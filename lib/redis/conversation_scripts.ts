// Lua scripts over a session's conversations (besides the turn scripts in scripts.ts): create,
// rename, delete, and the keep-alive that slides the session's TTL. Each answers a named outcome
// (script_runner.ts) and tells every tab through the reply stream (session_lua.ts's emit).
// KEYS: the session keys, in sessionKeyList() order.
import { script } from "./scripts.ts";
import { SESSION_LUA } from "./session_lua.ts";

/** ARGV: id, title, timestamp, ttl, the conversation limit. */
export const CREATE_CONVERSATION = script(
  "create_conversation",
  ["created", "too_many_conversations", "exists", "session_gone"],
  SESSION_LUA + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'session_gone' end
local r = load(ARGV[1])
if r.exists then return 'exists' end
if conversationCount() >= tonumber(ARGV[5]) then return 'too_many_conversations' end
create(r, ARGV[2], ARGV[3])
if ARGV[2] ~= '' then set(r, 'renamed', '1') end
save(r)
emitConversation(r)
refresh(ARGV[4])
return 'created'
`,
);

/** A title the user chose wins over the one the first message would give. ARGV: id, title, ts, ttl. */
export const RENAME_CONVERSATION = script(
  "rename_conversation",
  ["renamed", "conversation_not_found", "session_gone"],
  SESSION_LUA + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'session_gone' end
local r = load(ARGV[1])
if not r.exists then return 'conversation_not_found' end
set(r, 'title', ARGV[2])
set(r, 'renamed', '1')
set(r, 'updated', ARGV[3])
save(r)
emitConversation(r)
refresh(ARGV[4])
return 'renamed'
`,
);

/**
 * Deletes a conversation and its messages, and asks the worker running a reply in it to stop (it
 * then commits nothing: the conversation is gone). ARGV: id, ttl.
 */
export const DELETE_CONVERSATION = script(
  "delete_conversation",
  ["deleted", "conversation_not_found", "session_gone"],
  SESSION_LUA + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'session_gone' end
local c = ARGV[1]
local r = load(c)
if not r.exists then return 'conversation_not_found' end
for _, t in ipairs(running(r)) do redis.call('HSET', KEYS[3], t .. ':stop', '1') end
local fields = {}
for i, f in ipairs(CONV_FIELDS) do fields[i] = c .. ':' .. f end
redis.call('HDEL', KEYS[5], unpack(fields))
redis.call('ZREMRANGEBYLEX', KEYS[2], bounds(c))
emit({ 'type', 'conversation_deleted', 'id', c, 'conv', c })
refresh(ARGV[2])
return 'deleted'
`,
);

/** An open socket's keep-alive: one command that slides the whole session's TTL. ARGV: ttl. */
export const TOUCH_SESSION = script(
  "touch_session",
  ["touched", "session_gone"],
  SESSION_LUA + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'session_gone' end
refresh(ARGV[1])
return 'touched'
`,
);

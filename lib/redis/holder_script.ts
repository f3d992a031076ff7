// Registering a web server as a holder of a session's sockets (where reply hints go) and letting
// go of it. The list lives in the turns hash (HOLDERS_FIELD), where the hot scripts read it with
// a turn's state; a socket opening as the session expires never brings back its keys.
import { HOLDERS_FIELD, MAX_HOLDERS } from "./reply_hint.ts";
import { script } from "./scripts.ts";

/**
 * KEYS: the session hash, the turns hash. ARGV: server id, 'add' | 'remove'.
 * 'add' answers `{ 'held', <the turns queued now, space-separated> }`: what a socket that just
 * opened must watch (turn ids never contain a space), read in the same round trip.
 */
export const HOLD_SESSION = script(
  "hold_session",
  ["held", "released", "session_gone"],
  `
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return 'session_gone' end
local out = {}
for h in string.gmatch(redis.call('HGET', KEYS[2], '${HOLDERS_FIELD}') or '', '%S+') do
  if h ~= ARGV[1] then out[#out + 1] = h end
end
if ARGV[2] == 'add' then
  out[#out + 1] = ARGV[1]
  while #out > ${MAX_HOLDERS} do table.remove(out, 1) end
end
if #out == 0 then
  redis.call('HDEL', KEYS[2], '${HOLDERS_FIELD}')
else
  redis.call('HSET', KEYS[2], '${HOLDERS_FIELD}', table.concat(out, ' '))
  -- The turns hash may have been created just now: it shares the session's TTL.
  if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
if ARGV[2] ~= 'add' then return 'released' end
local queued = {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  -- A turn's state is the field named by its id alone; its other fields carry a ':'.
  if all[i + 1] == 'queued' and not string.find(all[i], ':', 1, true) then
    queued[#queued + 1] = all[i]
  end
end
return { 'held', table.concat(queued, ' ') }
`,
);

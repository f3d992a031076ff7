// The scripts only workers run over the requests stream (the session's scripts are in
// scripts.ts): keeping their turns alive, and trimming what no consumer needs any more.
import { script } from "./scripts.ts";

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

/**
 * A pushed worker's read: new turns for it, and with them the history of the conversation the
 * push named when that turn is among them, so its first turn costs one round trip, not two.
 * Answers data, not an outcome (ScriptRunner.read):
 * `{ entries, entry id of the named turn or '', its conversation's members }`.
 * KEYS: requests stream, the named session's history set.
 * ARGV: group, consumer, count, the named token, its conversation, the conversation's lex range.
 */
export const TAKE_TURNS = script(
  "take_turns",
  [],
  `
local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS',
  KEYS[1], '>')
if not read then return { {}, '', {} } end
local entries = read[1][2]
for _, e in ipairs(entries) do
  local f, token, conv = e[2], nil, nil
  for i = 1, #f, 2 do
    if f[i] == 'token' then token = f[i + 1] elseif f[i] == 'conv' then conv = f[i + 1] end
  end
  if token == ARGV[4] and conv == ARGV[5] then
    return { entries, e[1], redis.call('ZRANGE', KEYS[2], ARGV[6], ARGV[7], 'BYLEX') }
  end
end
return { entries, '', {} }
`,
);

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
 * A worker's own pending turns that it is not running: turns handed to it while its subscription
 * was down (the hand-off was published to nobody). Read-only, unlike XREADGROUP from "0", which
 * would count each as one more delivery of a turn that may be running. Answers data, not an
 * outcome (ScriptRunner.read): the entries. KEYS: requests stream.
 * ARGV: group, consumer, count, then the entry ids it is running.
 */
export const OWN_TURNS = script(
  "own_turns",
  [],
  `
local skip = {}
for i = 4, #ARGV do skip[ARGV[i]] = true end
local out = {}
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', ARGV[3], ARGV[2])) do
  if not skip[p[1]] then
    local e = redis.call('XRANGE', KEYS[1], p[1], p[1])
    if e[1] then out[#out + 1] = e[1] end
  end
end
return out
`,
);

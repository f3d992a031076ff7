// Registering a web server as a holder of a session's sockets (where reply hints go): only while
// the session exists, so a socket opening as the session expires never brings back its hash.
import { script } from "./scripts.ts";

/** KEYS: the session hash. ARGV: the holder field. */
export const HOLD_SESSION = script(
  "hold_session",
  ["held", "session_gone"],
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'session_gone' end
redis.call('HSET', KEYS[1], ARGV[1], '1')
return 'held'
`,
);

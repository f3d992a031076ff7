// Runs the Lua scripts of scripts.ts (EVALSHA, loading a script Redis does not know) and decodes
// what they return into their named outcomes: the one place a script's raw reply is looked at.
import type { Redis } from "./client.ts";
import { sha1Hex } from "./sha1.ts";
import type { Script } from "./scripts.ts";

export class UnexpectedOutcome extends Error {
  override name = "UnexpectedOutcome";
}

/** The script's outcome, or UnexpectedOutcome for anything it does not declare. */
export function decodeOutcome<O extends string>(script: Script<O>, raw: unknown): O {
  if (typeof raw === "string" && (script.outcomes as readonly string[]).includes(raw)) {
    return raw as O;
  }
  throw new UnexpectedOutcome(`script ${script.name} answered ${JSON.stringify(raw)}`);
}

/**
 * For scripts that may answer `{ outcome, detail }` (a refusal with a figure, such as how long to
 * wait): the outcome, and the detail when there is one.
 */
export function decodeDetailed<O extends string>(
  script: Script<O>,
  raw: unknown,
): { outcome: O; detail: string | null } {
  if (Array.isArray(raw) && raw.length === 2) {
    return { outcome: decodeOutcome(script, raw[0]), detail: String(raw[1]) };
  }
  return { outcome: decodeOutcome(script, raw), detail: null };
}

export class ScriptRunner {
  #sha = new Map<Script<string>, Promise<string>>();
  #loading = new Map<Script<string>, Promise<unknown>>();

  constructor(private readonly redis: Redis) {}

  /**
   * EVALSHA; on NOSCRIPT (a new or restarted Redis), one SCRIPT LOAD shared by every caller that
   * hit it, then EVALSHA again. Falling back to EVAL would send the whole script with each call of
   * a burst, which the client batches into one request that can exceed the request size limit.
   */
  async #exec(script: Script<string>, keys: string[], args: string[]): Promise<unknown> {
    const sha = await this.#shaOf(script);
    try {
      return await this.redis.evalsha(sha, keys, args);
    } catch (err) {
      if (!String(err).toUpperCase().includes("NOSCRIPT")) throw err;
      await this.#load(script);
      return await this.redis.evalsha(sha, keys, args);
    }
  }

  #shaOf(script: Script<string>): Promise<string> {
    let sha = this.#sha.get(script);
    if (!sha) {
      sha = sha1Hex(script.lua);
      this.#sha.set(script, sha);
    }
    return sha;
  }

  #load(script: Script<string>): Promise<unknown> {
    let loading = this.#loading.get(script);
    if (!loading) {
      loading = this.redis.scriptLoad(script.lua).finally(() => this.#loading.delete(script));
      this.#loading.set(script, loading);
    }
    return loading;
  }

  /** Runs a script that answers one outcome. */
  async run<O extends string>(script: Script<O>, keys: string[], args: string[]): Promise<O> {
    return decodeOutcome(script, await this.#exec(script, keys, args));
  }

  /** Runs a script that answers one outcome, with a detail for some (see decodeDetailed). */
  async runDetailed<O extends string>(
    script: Script<O>,
    keys: string[],
    args: string[],
  ): Promise<{ outcome: O; detail: string | null }> {
    return decodeDetailed(script, await this.#exec(script, keys, args));
  }

  /** Runs a script that answers data (it declares no outcomes); the caller decodes it. */
  read(script: Script<never>, keys: string[], args: string[]): Promise<unknown> {
    return this.#exec(script, keys, args);
  }

  /** Runs a script that answers one outcome per item. */
  async runEach<O extends string>(
    script: Script<O>,
    keys: string[],
    args: string[],
  ): Promise<O[]> {
    const raw = await this.#exec(script, keys, args);
    if (!Array.isArray(raw)) throw new UnexpectedOutcome(`script ${script.name} answered no list`);
    return raw.map((r) => decodeOutcome(script, r));
  }
}

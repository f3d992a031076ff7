// Runs the Lua scripts of scripts.ts (EVALSHA, falling back to EVAL once) and decodes what they
// return into their named outcomes: the one place a script's raw reply is looked at.
import type { Redis } from "./client.ts";
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
  #loaded = new Map<Script<string>, ReturnType<Redis["createScript"]>>();

  constructor(private readonly redis: Redis) {}

  #script(script: Script<string>) {
    let s = this.#loaded.get(script);
    if (!s) {
      s = this.redis.createScript<unknown>(script.lua);
      this.#loaded.set(script, s);
    }
    return s;
  }

  /** Runs a script that answers one outcome. */
  async run<O extends string>(script: Script<O>, keys: string[], args: string[]): Promise<O> {
    return decodeOutcome(script, await this.#script(script).exec(keys, args));
  }

  /** Runs a script that answers one outcome, with a detail for some (see decodeDetailed). */
  async runDetailed<O extends string>(
    script: Script<O>,
    keys: string[],
    args: string[],
  ): Promise<{ outcome: O; detail: string | null }> {
    return decodeDetailed(script, await this.#script(script).exec(keys, args));
  }

  /** Runs a script that answers data (it declares no outcomes); the caller decodes it. */
  read(script: Script<never>, keys: string[], args: string[]): Promise<unknown> {
    return this.#script(script).exec(keys, args);
  }

  /** Runs a script that answers one outcome per item. */
  async runEach<O extends string>(
    script: Script<O>,
    keys: string[],
    args: string[],
  ): Promise<O[]> {
    const raw = await this.#script(script).exec(keys, args);
    if (!Array.isArray(raw)) throw new UnexpectedOutcome(`script ${script.name} answered no list`);
    return raw.map((r) => decodeOutcome(script, r));
  }
}

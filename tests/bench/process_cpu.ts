// CPU time of the benchmark's processes, read from /proc (Linux): where a turn's time goes when
// several processes share the machine's cores.

/** User + system CPU of a process so far, in ms; null where /proc is not readable. */
async function cpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticksPerSecond = 100; // USER_HZ on Linux
    return (Number(fields[11]) + Number(fields[12])) * 1000 / ticksPerSecond;
  } catch {
    return null;
  }
}

/** Sums each named process's CPU over the measured spans. */
export class CpuMeter {
  #spent = new Map<string, number>();
  #started = new Map<string, number>();
  #turns = 0;
  #available = true;

  constructor(private readonly pids: Record<string, number>) {}

  async start(): Promise<void> {
    for (const [name, pid] of Object.entries(this.pids)) {
      const ms = await cpuMs(pid);
      if (ms === null) this.#available = false;
      else this.#started.set(name, ms);
    }
  }

  /** Ends a span in which `turns` turns were measured. */
  async stop(turns: number): Promise<void> {
    this.#turns += turns;
    for (const [name, pid] of Object.entries(this.pids)) {
      const ms = await cpuMs(pid);
      const from = this.#started.get(name);
      if (ms === null || from === undefined) this.#available = false;
      else this.#spent.set(name, (this.#spent.get(name) ?? 0) + ms - from);
    }
  }

  /** "web 0.69, worker 0.81, …" in ms per turn; null when /proc was not readable. */
  perTurn(): string | null {
    if (!this.#available || this.#turns === 0) return null;
    return [...this.#spent].map(([name, ms]) => `${name} ${(ms / this.#turns).toFixed(2)}`)
      .join(", ");
  }
}

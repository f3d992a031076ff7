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

/**
 * CPU of every thread of a process so far, in ms, from the scheduler's nanosecond counters
 * (/proc/<pid>/task/<tid>/schedstat): fine enough for a window of tens of ms, where /proc/<pid>/stat
 * counts 10 ms ticks. Synchronous, so a busy benchmark process reads it without waiting its turn.
 */
function threadsCpuMs(pid: number): number | null {
  try {
    let ns = 0;
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(
          Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`).split(" ")[0],
        );
      } catch { /* the thread ended meanwhile */ }
    }
    return ns / 1e6;
  } catch {
    return null;
  }
}

/** Each named process's CPU (ms) over a window, and how long the window really was (ms). */
export interface CpuWindow {
  elapsed: number;
  spent: Map<string, number>;
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

  /**
   * Each process's CPU (ms) in the `ms` from now, and how long that really was: what the machine
   * did while a burst's first turns queued. Null where /proc or schedstat is not readable.
   */
  async window(ms: number): Promise<CpuWindow | null> {
    const names = Object.keys(this.pids);
    const read = () => names.map((name) => threadsCpuMs(this.pids[name]));
    const t0 = performance.now();
    const from = read();
    await new Promise((r) => setTimeout(r, ms));
    const to = read();
    const elapsed = performance.now() - t0;
    const spent = new Map<string, number>();
    for (const [i, name] of names.entries()) {
      const [a, b] = [from[i], to[i]];
      if (a === null || b === null) return null;
      spent.set(name, b - a);
    }
    return { elapsed, spent };
  }

  /** "web 0.69, worker 0.81, …" in ms per turn; null when /proc was not readable. */
  perTurn(): string | null {
    if (!this.#available || this.#turns === 0) return null;
    return [...this.#spent].map(([name, ms]) => `${name} ${(ms / this.#turns).toFixed(2)}`)
      .join(", ");
  }
}

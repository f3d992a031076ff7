// The pipeline benchmark's latency figures, measured the same way for the product and for the
// reference relay: added time to the first delta after idleness, for one session, and for bursts
// of new sessions sending at once.
import type { CpuMeter, CpuWindow } from "./process_cpu.ts";
import { ms, pct, REPEATS, sleep } from "./common.ts";

/** One open socket: `ask` answers the time from sending a turn to its first delta, in ms. */
export interface Asker {
  ask(content: string): Promise<number>;
  close(): void;
}

export interface LatencyFigures {
  cold: number;
  one: [p50: number, p99: number];
  /** Per burst size: the median over REPEATS of each repetition's p50 and p99. */
  bursts: Map<number, [p50: number, p99: number]>;
}

const COLD_SAMPLES = Number(Deno.env.get("BENCH_COLD_SAMPLES") ?? 15);

/**
 * The figures for one relay. `own`: the model's own time to its first token ("added" is beyond
 * it). `cpu`, if given, meters the 200-session bursts' turns. Prints each figure as it comes, each
 * line starting with `label`.
 */
export async function latencyFigures(
  label: string,
  open: () => Promise<Asker>,
  own: number,
  cpu?: CpuMeter,
): Promise<LatencyFigures> {
  const client = await open();
  await client.ask("warm up");
  const cold: number[] = [];
  for (let i = 0; i < COLD_SAMPLES; i++) {
    await sleep(10_000);
    cold.push(await client.ask("after a pause") - own);
  }
  console.log(
    `${label}first turn after 10 s idle, added: median ${ms(pct(cold, 0.5))} (${cold.length})`,
  );
  const one: number[] = [];
  for (let i = 0; i < 50; i++) one.push(await client.ask(`q${i}`) - own);
  console.log(`${label}1 session, added: p50 ${ms(pct(one, 0.5))}, p99 ${ms(pct(one, 0.99))}`);
  client.close();
  const bursts = new Map<number, [number, number]>();
  for (const [n, turns] of [[50, 10], [200, 5]]) {
    bursts.set(n, await burst(label, open, n, turns, own, n === 200 ? cpu : undefined));
  }
  return { cold: pct(cold, 0.5), one: [pct(one, 0.5), pct(one, 0.99)], bursts };
}

/** Each repetition's two figures, "a / b", comma-separated. */
const pairs = (runs: [number, number][]) =>
  runs.map(([a, b]) => `${a.toFixed(1)} / ${b.toFixed(1)}`).join(", ");

/**
 * `n` new sessions sending `turns` turns each, all at once, REPEATS times (new sessions each
 * time): each repetition's p50 / p99, and their medians. The first repetition also pays for new
 * connections to the model (one per concurrent stream), which later ones reuse.
 */
async function burst(
  label: string,
  open: () => Promise<Asker>,
  n: number,
  turns: number,
  own: number,
  cpu?: CpuMeter,
): Promise<[number, number]> {
  const runs: [number, number][] = [];
  const firsts: [number, number][] = [];
  const windows: CpuWindow[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const clients = await Promise.all(Array.from({ length: n }, open));
    const added: number[] = [];
    const first: number[] = [];
    await cpu?.start();
    const window = cpu?.window(WINDOW_MS);
    await Promise.all(clients.map(async (client) => {
      for (let i = 0; i < turns; i++) {
        const t = await client.ask(`q${i}`) - own;
        added.push(t);
        if (i === 0) first.push(t);
      }
    }));
    await cpu?.stop(added.length);
    const used = await window;
    if (used) windows.push(used);
    for (const c of clients) c.close();
    runs.push([pct(added, 0.5), pct(added, 0.99)]);
    firsts.push([pct(first, 0.5), pct(first, 1)]);
  }
  const median = (i: 0 | 1) => pct(runs.map((r) => r[i]), 0.5);
  console.log(
    `${label}${n} sessions, added: p50 ${ms(median(0))}, p99 ${ms(median(1))} ` +
      `(median of ${REPEATS}; each p50 / p99: ${pairs(runs)})`,
  );
  // The p99 is the tail of the first turns, which every session sends in the same instant: all
  // of them queue at once in every process, while later turns come spread out.
  console.log(
    `${label}${n} sessions, the first turns (sent at once), each p50 / max: ${pairs(firsts)}`,
  );
  if (windows.length) printWindows(label, n, windows);
  return [median(0), median(1)];
}

/** The start of a burst, while its first turns queue: how busy the machine is then. */
const WINDOW_MS = 100;

/**
 * How much of the machine's CPU the processes used in each burst's first WINDOW_MS (every first
 * turn is queued in that time): near 100%, the first turns wait for the cores, not for a process.
 */
function printWindows(label: string, n: number, windows: CpuWindow[]) {
  const cores = navigator.hardwareConcurrency;
  const busy = windows.map((w) => {
    const sum = [...w.spent.values()].reduce((a, b) => a + b, 0);
    return `${(100 * sum / (cores * w.elapsed)).toFixed(0)}%`;
  });
  const each = [...windows[0].spent.keys()].map((name) =>
    `${name} ${(windows.reduce((a, w) => a + w.spent.get(name)!, 0) / windows.length).toFixed(0)}`
  );
  console.log(
    `${label}${n} sessions, each burst's first ${WINDOW_MS} ms: the ${cores} cores busy ` +
      `${busy.join(", ")} (CPU ms, mean: ${each.join(", ")})`,
  );
}

// The one way tests wait for something to become true.

/**
 * Checks `check` every `intervalMs` until it returns true, and throws
 * "timed out waiting for <what>" after `ms`. An error thrown by `check` fails the wait at once
 * (to keep trying through errors, catch them in `check`). `changed`, if given, resolves when
 * something `check` looks at has changed, to check again at once rather than at the next tick.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  ms = 10_000,
  { intervalMs = 50, changed }: { intervalMs?: number; changed?: () => Promise<void> } = {},
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    // Listen before checking, so that a change during the check is not missed.
    const change = changed?.();
    if (await check()) return;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    }
    await pause(Math.min(intervalMs, left), change);
  }
}

/** Waits `ms`, or less if `change` resolves first. */
function pause(ms: number, change?: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    change?.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

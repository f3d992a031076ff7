// The service's health for the banner. While degraded it looks again now and then, so the banner
// goes by itself once things are fixed.
import { signal } from "@preact/signals";
import type { Health } from "../../lib/contract/payloads.ts";
import { fetchHealth } from "./api.ts";

const RECHECK_MS = 10_000;

export class HealthWatch {
  readonly current = signal<Health | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;

  get degraded(): boolean {
    return this.current.value?.status === "degraded";
  }

  async refresh(): Promise<void> {
    clearTimeout(this.#timer);
    try {
      this.current.value = await fetchHealth();
    } catch {
      // The socket and the other requests report an unreachable server.
    }
    if (this.degraded) this.#timer = setTimeout(() => this.refresh(), RECHECK_MS);
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }
}

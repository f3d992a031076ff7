// Light, dark, or whatever the system prefers: remembered across visits and applied as
// `data-theme` on <html>, which the stylesheet's variables follow.
import { signal } from "@preact/signals";
import { loadTheme, saveTheme } from "./saved.ts";

export type Theme = "system" | "light" | "dark";
const ORDER: Theme[] = ["system", "light", "dark"];

export function storedTheme(): Theme {
  const t = loadTheme();
  return t === "light" || t === "dark" ? t : "system";
}

export function applyTheme(theme: Theme): void {
  const root = globalThis.document?.documentElement;
  if (!root) return;
  if (theme === "system") delete root.dataset.theme;
  else root.dataset.theme = theme;
}

export class ThemeChoice {
  readonly current = signal<Theme>("system");

  boot(): void {
    this.current.value = storedTheme();
    applyTheme(this.current.value);
  }

  /** system → light → dark → system */
  next(): void {
    const theme = ORDER[(ORDER.indexOf(this.current.value) + 1) % ORDER.length];
    this.current.value = theme;
    saveTheme(theme === "system" ? null : theme);
    applyTheme(theme);
  }
}

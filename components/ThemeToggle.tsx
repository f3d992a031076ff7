// Light, dark, or as the system has it: one button that goes round the three.
import { Icon } from "./Icon.tsx";
export type ThemeName = "system" | "light" | "dark";

const LABEL: Record<ThemeName, string> = { system: "System", light: "Light", dark: "Dark" };
const ICON = { system: "system", light: "sun", dark: "moon" } as const;

export function ThemeToggle({ theme, onNext }: { theme: ThemeName; onNext(): void }) {
  return (
    <button
      type="button"
      class="icon-button theme-toggle"
      onClick={onNext}
      aria-label={`Theme: ${LABEL[theme]} (change)`}
      title={`Theme: ${LABEL[theme]}`}
      data-theme-choice={theme}
    >
      <Icon name={ICON[theme]} />
    </button>
  );
}

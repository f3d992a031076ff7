// The browser entry: hydrates every island the server marked (see components/Island.tsx).
import { type ComponentType, h, hydrate } from "preact";
import Chat from "./Chat.tsx";
import { applyTheme, storedTheme } from "./chat/theme.ts";

// Before the first render, so a chosen theme does not flash the system's first.
applyTheme(storedTheme());

// deno-lint-ignore no-explicit-any -- each island checks its own props
const islands: Record<string, ComponentType<any>> = { Chat };

for (const el of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const island = islands[el.dataset.island ?? ""];
  if (!island) {
    console.error(`Unknown island "${el.dataset.island}"`);
    continue;
  }
  hydrate(h(island, JSON.parse(el.dataset.props ?? "{}")), el);
}

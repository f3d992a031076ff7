// Server side of an island, as Fresh does it: the component's first render plus a marker naming
// it and carrying its props, which islands/_hydrate.ts reads to hydrate it in the browser.
import type { ComponentType } from "preact";

export interface IslandProps<P> {
  /** The key in islands/_hydrate.ts's registry. */
  name: string;
  component: ComponentType<P>;
  /** Must survive JSON: they cross to the browser in an attribute. */
  props: P;
}

export function Island<P extends object>({ name, component: Component, props }: IslandProps<P>) {
  return (
    <div class="island" data-island={name} data-props={JSON.stringify(props)}>
      <Component {...props} />
    </div>
  );
}

// Short notices that go by themselves, for errors with no message of their own to sit on.
import { signal } from "@preact/signals";
import type { Toast } from "../../components/types.ts";

const TOAST_MS = 7000;

export class ToastQueue {
  readonly list = signal<Toast[]>([]);
  #nextId = 0;

  show(text: string): void {
    // The same text twice would only say the same thing twice.
    if (this.list.value.some((t) => t.text === text)) return;
    const id = ++this.#nextId;
    this.list.value = [...this.list.value, { id, text }];
    setTimeout(() => this.dismiss(id), TOAST_MS);
  }

  dismiss(id: number): void {
    this.list.value = this.list.value.filter((t) => t.id !== id);
  }
}

// The benchmark's client for both relays, the product and the reference: one WebSocket asked turn
// after turn, its frames read with JSON.parse alone, so neither relay's figures carry client work
// the other's do not (the tests' ChatClient checks every frame against the contract with zod, work
// a browser does on its own machine, not on the relay's).
import type { Asker } from "./latency.ts";

/** Builds the frame that asks `content` as turn `id`. */
export type AskFrame = (id: string, content: string) => unknown;

export class SocketAsker implements Asker {
  #waiting = new Map<string, (frame: { type?: string; message?: string }) => void>();

  private constructor(private ws: WebSocket, private frame: AskFrame) {
    ws.onmessage = (e) => {
      const frame = JSON.parse(String(e.data));
      this.#waiting.get(frame.id)?.(frame);
    };
  }

  static connect(url: string, frame: AskFrame): Promise<SocketAsker> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(new SocketAsker(ws, frame));
      ws.onerror = () => reject(new Error(`the socket to ${new URL(url).pathname} failed to open`));
    });
  }

  /** Ms from sending the turn to its first delta, once the turn is done; an error frame throws. */
  ask(content: string): Promise<number> {
    const id = crypto.randomUUID();
    const t0 = performance.now();
    let first = 0;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, ({ type, message }) => {
        if (type === "delta" && !first) first = performance.now() - t0;
        if (type !== "done" && type !== "error") return;
        this.#waiting.delete(id);
        if (type === "done") resolve(first);
        else reject(new Error(`the turn ended in an error: ${message}`));
      });
      this.ws.send(JSON.stringify(this.frame(id, content)));
    });
  }

  close(): void {
    this.ws.close();
  }
}

// Where a process's log lines go: info and debug lines are gathered and written a batch per
// event-loop turn, warnings and errors at once, and nothing buffered is lost when the process
// exits or crashes.

export type LogStream = "stdout" | "stderr";

/** Writes text (one or more lines joined by "\n") to a stream, in full. */
export type Emit = (stream: LogStream, text: string) => void;

const consoleEmit: Emit = (stream, text) =>
  stream === "stderr" ? console.error(text) : console.log(text);

/** A batch is written once it holds this many lines, without waiting for the turn to end. */
const MAX_BATCH_LINES = 512;

/**
 * One `console.log` per line was a synchronous write to a pipe each: under a burst of turns, a
 * web server's per-turn lines cost it about a tenth of its CPU. Lines of one event-loop turn now
 * share one write. A warning or an error first writes what is waiting, then itself, so the order
 * of lines holds across both streams and a line that may precede a crash is never held back.
 */
export class LogSink {
  #waiting: string[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly emit: Emit = consoleEmit) {}

  /** `urgent`: a warning or an error, written at once after whatever waits. */
  write(line: string, urgent = false): void {
    if (urgent) {
      this.flush();
      this.emit("stderr", line);
      return;
    }
    this.#waiting.push(line);
    if (this.#waiting.length >= MAX_BATCH_LINES) this.flush();
    else if (this.#timer === undefined) {
      const timer = setTimeout(this.flush, 0);
      // A pending batch never keeps a process alive: exit and crash flush it (flushOnExit).
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Writes every waiting line now. */
  readonly flush = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiting.length === 0) return;
    const text = this.#waiting.join("\n");
    this.#waiting = [];
    this.emit("stdout", text);
  };

  /**
   * Flushes on a normal exit (`Deno.exit`, the event loop running dry) and on an uncaught error or
   * rejection, before the runtime reports it and ends the process.
   */
  flushOnExit(): void {
    for (const e of ["unload", "error", "unhandledrejection"] as const) {
      globalThis.addEventListener(e, this.flush);
    }
  }
}

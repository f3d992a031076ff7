// Where a GPT-J reply ends: a plain completion model writes on past its turn, into the human's.

/** GPT-J does not know when its turn ends: it goes on to write the human's next line. */
export const STOP = "\nHuman:";

/**
 * Turns raw model output into the reply: drops leading whitespace, and ends the reply where the
 * model starts writing the human's next line. Text that might be the start of that marker (or
 * trailing whitespace before it) is held back until the next piece shows what it is.
 */
export class ReplyCutter {
  #pending = "";
  #emitted = false;
  #finished = false;

  get finished(): boolean {
    return this.#finished;
  }

  push(text: string): string {
    if (this.#finished) return "";
    this.#pending += text;
    if (!this.#emitted) this.#pending = this.#pending.trimStart();
    if (!this.#pending) return "";
    // Before anything is out, the reply itself may open with "Human:".
    const view = this.#emitted ? this.#pending : "\n" + this.#pending;
    const shift = this.#emitted ? 0 : 1;
    const cut = view.indexOf(STOP);
    if (cut >= 0) {
      this.#finished = true;
      const out = this.#pending.slice(0, Math.max(0, cut - shift)).trimEnd();
      this.#pending = "";
      return this.#take(out);
    }
    const hold = Math.min(heldWhitespace(view), heldMarkerPrefix(view)) - shift;
    const out = this.#pending.slice(0, Math.max(0, hold));
    this.#pending = this.#pending.slice(out.length);
    return this.#take(out);
  }

  end(): string {
    if (this.#finished) return "";
    this.#finished = true;
    const out = this.#pending.trimEnd();
    this.#pending = "";
    return this.#take(out);
  }

  #take(out: string): string {
    if (out) this.#emitted = true;
    return out;
  }
}

/** Start of the trailing whitespace run of `text` (text.length when there is none). */
function heldWhitespace(text: string): number {
  return text.length - (text.length - text.trimEnd().length);
}

/** Start of the longest suffix of `text` that is a proper prefix of the stop marker. */
function heldMarkerPrefix(text: string): number {
  for (let n = Math.min(STOP.length - 1, text.length); n > 0; n--) {
    if (STOP.startsWith(text.slice(text.length - n))) return text.length - n;
  }
  return text.length;
}

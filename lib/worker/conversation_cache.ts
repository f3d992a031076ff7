// What a worker keeps of the conversations it was handed whole (handoff.ts), by each message's
// seq, so that a later hand-off of only the newest messages rebuilds the whole conversation.
// Bounded in size, the least recently used dropped first.
import type { Message } from "../contract/frames.ts";
import { memberSeq, readMember, readMembers } from "../redis/message_members.ts";

interface Kept {
  seqs: number[];
  messages: Message[];
  chars: number;
  generation: number;
}

/** Taken before reading a conversation, so what was read replaces only what it is newer than. */
export interface CacheMark {
  epoch: number;
  generation: number;
}

/** Characters of messages kept: at least 256 conversations as long as a hand-off carries. */
const DEFAULT_MAX_CHARS = 16 * 1024 * 1024;

function parse(members: string[]): { seqs: number[]; messages: Message[] } {
  const seqs: number[] = [], messages: Message[] = [];
  for (const member of members) {
    const seq = memberSeq(member), message = readMember(member);
    if (!Number.isInteger(seq) || !message) continue;
    seqs.push(seq);
    messages.push(message);
  }
  return { seqs, messages };
}

/** What a conversation costs to keep, roughly: its text and a message's fixed fields. */
const charsOf = (messages: Message[]) =>
  messages.reduce((sum, m) => sum + m.content.length + 128, 0);

export class ConversationCache {
  readonly #kept = new Map<string, Kept>();
  #chars = 0;
  #generation = 0;
  #epoch = 0;

  constructor(private readonly maxChars = DEFAULT_MAX_CHARS) {}

  get size(): number {
    return this.#kept.size;
  }

  /** The whole conversation (handed, or read back): kept from now on. */
  replace(key: string, members: string[]): Message[] {
    const { seqs, messages } = parse(members);
    this.#keep(key, seqs, messages);
    return messages;
  }

  /**
   * The conversation rebuilt from what is kept and its newest members (oldest first) with its
   * message count; null when what is kept does not reach back to them or the count disagrees (a
   * hand-off was lost on its way): the worker then reads the conversation.
   */
  extend(key: string, tail: string[], count: number): Message[] | null {
    const kept = this.#kept.get(key);
    const newest = parse(tail);
    if (!kept || newest.seqs.length === 0) return null;
    const first = newest.seqs[0];
    if ((kept.seqs.at(-1) ?? 0) < first - 1) return this.#drop(key);
    let before = kept.seqs.findIndex((seq) => seq >= first);
    if (before < 0) before = kept.seqs.length;
    const messages = [...kept.messages.slice(0, before), ...newest.messages];
    if (messages.length !== count) return this.#drop(key);
    const seqs = [...kept.seqs.slice(0, before), ...newest.seqs];
    this.#keep(key, seqs, messages);
    return messages;
  }

  mark(key: string): CacheMark {
    return { epoch: this.#epoch, generation: this.#kept.get(key)?.generation ?? 0 };
  }

  /** replace(), unless a hand-off or clear() came after `mark`: then what was read is older. */
  replaceIf(key: string, mark: CacheMark, members: string[]): Message[] {
    const now = this.mark(key);
    if (now.epoch === mark.epoch && now.generation === mark.generation) {
      return this.replace(key, members);
    }
    return readMembers(members);
  }

  /** Forget everything: a hand-off may have been lost (the subscription was down). */
  clear(): void {
    this.#kept.clear();
    this.#chars = 0;
    this.#epoch++;
  }

  #keep(key: string, seqs: number[], messages: Message[]): void {
    this.#drop(key);
    const chars = charsOf(messages);
    this.#kept.set(key, { seqs, messages, chars, generation: ++this.#generation });
    this.#chars += chars;
    // A Map iterates in insertion order: the first key is the least recently used.
    for (const [oldest, entry] of this.#kept) {
      if (this.#chars <= this.maxChars || oldest === key) break;
      this.#kept.delete(oldest);
      this.#chars -= entry.chars;
    }
  }

  #drop(key: string): null {
    const kept = this.#kept.get(key);
    if (kept) {
      this.#kept.delete(key);
      this.#chars -= kept.chars;
    }
    return null;
  }
}

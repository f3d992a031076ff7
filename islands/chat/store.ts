// The chat's state and everything that changes it: session start and restore, the turn outbox,
// reply streaming with resume, stop, expiry and errors. Components only read the signals and call
// the actions. Creating a store has no side effects, so the island can render it on the server.
import { batch, computed, signal } from "@preact/signals";
import type { DeltaFrame, DoneFrame, ErrorFrame, Message } from "../../lib/contract/frames.ts";
import type { Health } from "../../lib/contract/payloads.ts";
import { chatSocketUrl, fetchHealth, fetchHistory, isExpired, requestToken } from "./api.ts";
import { applyDelta, isNewEvent } from "./events.ts";
import { loadMarkdown } from "../../components/markdown/loader.ts";
import { forgetToken, loadLastDone, loadSession, saveLastDone, saveSession } from "./saved.ts";
import { type LinkState, ReconnectingSocket } from "./socket.ts";
import { encodeFrame, parseServerFrame } from "./wire.ts";

export type Phase = "boot" | "welcome" | "loading" | "load_failed" | "chat";

export interface UiMessage {
  /** Stable render key: the turn id for user messages, `reply:<turn>` for replies. */
  key: string;
  /** The server's message id, once known. */
  id?: string;
  role: "user" | "assistant";
  content: string;
  /** The turn this message asks (user) or answers (assistant). */
  turn?: string;
  state: "done" | "sending" | "streaming" | "stopped" | "failed";
  error?: string;
  timestamp?: string;
}

export interface Toast {
  id: number;
  text: string;
}

export interface ChatOptions {
  maxChars: number;
}

const TOAST_MS = 7000;
const HEALTH_RECHECK_MS = 10_000;
const EXPIRED_NOTICE = "Your session has expired, so this conversation has ended.";

const newTurnId = (): string =>
  // randomUUID needs a secure context; a page opened over plain http on a LAN address has none.
  globalThis.crypto?.randomUUID?.() ??
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0"))
      .join("");

const fromHistory = (m: Message): UiMessage => ({
  key: m.id,
  id: m.id,
  role: m.role,
  content: m.content,
  // The server keeps the client's turn id as the user message id; harmless if it does not.
  turn: m.role === "user" ? m.id : undefined,
  state: "done",
  timestamp: m.timestamp,
});

export class ChatStore {
  readonly phase = signal<Phase>("boot");
  readonly name = signal("");
  readonly messages = signal<UiMessage[]>([]);
  readonly link = signal<LinkState>({ kind: "closed" });
  /** The notice shown instead of the composer once the session is gone. */
  readonly expired = signal<string | null>(null);
  /** The turn whose reply is awaited or streaming. */
  readonly activeTurn = signal<string | null>(null);
  readonly stopping = signal(false);
  readonly toasts = signal<Toast[]>([]);
  readonly health = signal<Health | null>(null);
  /** Text for the screen-reader live region. */
  readonly announcement = signal("");
  readonly formError = signal<string | null>(null);
  readonly starting = signal(false);
  readonly loadError = signal<string | null>(null);
  readonly busy = computed(() => this.activeTurn.value !== null);

  #token = "";
  #socket: ReconnectingSocket | null = null;
  /** Turns sent but not yet answered; `acked` ones need not be re-sent after a reconnect. */
  #outbox = new Map<string, { content: string; acked: boolean }>();
  #pendingStop: string | null = null;
  #lastEvent: string | null = null;
  /** Where a freshly loaded page replays from, so a reply in progress at reload continues. */
  #resumeFrom: string | null = null;
  #gapResumeSent = false;
  #toastId = 0;
  #healthTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly options: ChatOptions) {}

  /** Runs in the browser once the island is hydrated. */
  boot(): void {
    loadMarkdown();
    this.refreshHealth();
    const saved = loadSession();
    this.name.value = saved?.name ?? "";
    if (saved?.token) {
      this.#token = saved.token;
      this.loadHistory();
    } else {
      this.phase.value = "welcome";
      performance.mark("chat:welcome-ready");
    }
  }

  async refreshHealth(): Promise<void> {
    clearTimeout(this.#healthTimer);
    try {
      this.health.value = await fetchHealth();
    } catch {
      // The socket and the other requests report an unreachable server.
    }
    // While degraded, look again now and then so the banner goes once things are fixed.
    if (this.health.value?.status === "degraded") {
      this.#healthTimer = setTimeout(() => this.refreshHealth(), HEALTH_RECHECK_MS);
    }
  }

  async loadHistory(): Promise<void> {
    batch(() => {
      this.phase.value = "loading";
      this.loadError.value = null;
    });
    try {
      const history = await fetchHistory(this.#token);
      batch(() => {
        this.name.value = history.name;
        this.messages.value = history.messages.map(fromHistory);
        this.phase.value = "chat";
      });
      this.#resumeFrom = loadLastDone() ?? "0-0";
      this.#connect();
      performance.mark("chat:chat-ready");
    } catch (e) {
      if (isExpired(e)) {
        this.phase.value = "chat";
        this.#expire();
      } else {
        batch(() => {
          this.phase.value = "load_failed";
          this.loadError.value = (e as Error).message;
        });
      }
    }
  }

  async start(rawName: string): Promise<void> {
    const name = rawName.trim();
    if (!name) {
      this.formError.value = "Please enter a name.";
      return;
    }
    batch(() => {
      this.starting.value = true;
      this.formError.value = null;
    });
    try {
      const session = await requestToken(name);
      saveSession({ token: session.token, name: session.name });
      this.#reset(session.token);
      batch(() => {
        this.name.value = session.name;
        this.phase.value = "chat";
      });
      this.#connect();
      performance.mark("chat:chat-ready");
    } catch (e) {
      this.formError.value = (e as Error).message;
      if (this.phase.value === "chat") this.toast((e as Error).message);
    } finally {
      this.starting.value = false;
    }
  }

  /** One click after expiry: a new session under the same name. */
  newSession(): Promise<void> {
    return this.start(this.name.value);
  }

  /** Back to the welcome screen (to pick another name). */
  changeName(): void {
    this.#socket?.close();
    this.#socket = null;
    forgetToken();
    this.#reset("");
    this.phase.value = "welcome";
  }

  /** Returns false when the text was not sent (empty, too long, or a reply is in progress). */
  send(text: string): boolean {
    if (!text.trim() || this.busy.value || this.expired.value) return false;
    if (text.length > this.options.maxChars) {
      this.toast(`A message can have at most ${this.options.maxChars} characters.`);
      return false;
    }
    const turn = newTurnId();
    this.#outbox.set(turn, { content: text, acked: false });
    batch(() => {
      this.messages.value = [
        ...this.messages.value,
        { key: turn, turn, role: "user", content: text, state: "sending" },
        { key: `reply:${turn}`, turn, role: "assistant", content: "", state: "streaming" },
      ];
      this.activeTurn.value = turn;
    });
    this.#socket?.send(encodeFrame({ type: "message", id: turn, content: text }));
    return true;
  }

  stop(): void {
    const turn = this.activeTurn.value;
    if (!turn || this.stopping.value) return;
    this.stopping.value = true;
    this.#pendingStop = turn;
    if (this.#socket?.send(encodeFrame({ type: "stop", id: turn }))) this.#pendingStop = null;
  }

  /** Sends a failed message again, as a new turn. */
  retry(turn: string): void {
    const failed = this.messages.value.find((m) => m.role === "user" && m.turn === turn);
    if (!failed || this.busy.value) return;
    this.messages.value = this.messages.value.filter((m) => m.turn !== turn);
    this.send(failed.content);
  }

  retryConnection(): void {
    this.#socket?.retryNow();
  }

  toast(text: string): void {
    if (this.toasts.value.some((t) => t.text === text)) return;
    const id = ++this.#toastId;
    this.toasts.value = [...this.toasts.value, { id, text }];
    setTimeout(() => this.dismissToast(id), TOAST_MS);
  }

  dismissToast(id: number): void {
    this.toasts.value = this.toasts.value.filter((t) => t.id !== id);
  }

  dispose(): void {
    clearTimeout(this.#healthTimer);
    this.#socket?.close();
  }

  // ---- the socket ----

  #connect(): void {
    this.#socket?.close();
    const socket = new ReconnectingSocket(() => chatSocketUrl(this.#token), {
      onState: (state) => {
        if (this.#socket !== socket) return;
        this.link.value = state;
        if (state.kind === "expired") this.#expire();
      },
      onOpen: (isReconnect) => this.#onOpen(socket, isReconnect),
      onData: (data) => this.#onData(data),
    });
    this.#socket = socket;
    socket.connect();
  }

  #onOpen(socket: ReconnectingSocket, isReconnect: boolean): void {
    const after = this.#lastEvent ?? this.#resumeFrom ?? (isReconnect ? "0-0" : null);
    if (after !== null) socket.send(encodeFrame({ type: "resume", after }));
    this.#gapResumeSent = false;
    // The server dedupes by turn id, so re-sending a turn whose ack was lost is safe.
    for (const [id, turn] of this.#outbox) {
      if (!turn.acked) socket.send(encodeFrame({ type: "message", id, content: turn.content }));
    }
    if (this.#pendingStop && socket.send(encodeFrame({ type: "stop", id: this.#pendingStop }))) {
      this.#pendingStop = null;
    }
    if (isReconnect) this.refreshHealth();
  }

  #onData(data: unknown): void {
    const frame = parseServerFrame(data);
    if (!frame) {
      console.warn("Ignored an unreadable frame", data);
      return;
    }
    if (frame.type === "ack") {
      const turn = this.#outbox.get(frame.id);
      if (turn) turn.acked = true;
      this.#updateUser(frame.id, (m) => m.state === "sending" ? { ...m, state: "done" } : m);
      return;
    }
    // Replays after a resume may repeat events already applied: the event id order decides.
    if (frame.event !== undefined && !isNewEvent(frame.event, this.#lastEvent)) return;
    if (frame.type === "delta") this.#onDelta(frame);
    else if (frame.type === "done") this.#onDone(frame);
    else this.#onError(frame);
  }

  #onDelta(frame: DeltaFrame): void {
    const list = this.messages.value;
    if (this.#alreadyAnswered(list, frame.id)) {
      this.#lastEvent = frame.event;
      return;
    }
    let index = list.findIndex((m) => m.role === "assistant" && m.turn === frame.id);
    const next = list.slice();
    if (index < 0) {
      // A reply we did not start here (the page was reloaded mid-reply): show it where it belongs.
      index = this.#insertionPoint(next, frame.id);
      next.splice(index, 0, {
        key: `reply:${frame.id}`,
        turn: frame.id,
        role: "assistant",
        content: "",
        state: "streaming",
      });
    }
    const result = applyDelta(next[index].content, frame.offset, frame.text);
    if (result.kind === "gap") {
      // Pieces were missed: ask for a replay from the last applied event, once per gap.
      if (!this.#gapResumeSent) {
        this.#gapResumeSent = true;
        this.#socket?.send(encodeFrame({ type: "resume", after: this.#lastEvent ?? "0-0" }));
      }
      return;
    }
    this.#gapResumeSent = false;
    this.#lastEvent = frame.event;
    next[index] = { ...next[index], content: result.text, state: "streaming" };
    batch(() => {
      this.messages.value = next;
      if (this.activeTurn.value === null) this.activeTurn.value = frame.id;
    });
  }

  #onDone(frame: DoneFrame): void {
    this.#lastEvent = frame.event;
    saveLastDone(frame.event);
    this.#outbox.delete(frame.id);
    const next = this.messages.value.slice();
    const final: UiMessage = {
      key: `reply:${frame.id}`,
      id: frame.message.id,
      role: "assistant",
      content: frame.message.content,
      turn: frame.id,
      state: frame.stopped ? "stopped" : "done",
      timestamp: frame.message.timestamp,
    };
    const bubble = next.findIndex((m) => m.role === "assistant" && m.turn === frame.id);
    const known = next.findIndex((m) => m.id === frame.message.id);
    if (known >= 0) {
      // Already there (loaded with the history): update it and drop any replayed copy.
      next[known] = { ...final, key: next[known].key };
      if (bubble >= 0 && bubble !== known) next.splice(bubble, 1);
    } else if (bubble >= 0) {
      next[bubble] = final;
    } else {
      next.splice(this.#insertionPoint(next, frame.id), 0, final);
    }
    const user = next.findIndex((m) => m.role === "user" && m.turn === frame.id);
    if (user >= 0 && next[user].state === "sending") next[user] = { ...next[user], state: "done" };
    if (this.health.value?.status === "degraded") this.refreshHealth(); // a reply came: recovered?
    batch(() => {
      this.messages.value = next;
      if (this.activeTurn.value === frame.id) {
        this.activeTurn.value = null;
        this.stopping.value = false;
      }
      this.announcement.value = frame.stopped
        ? "Reply stopped."
        : `Assistant: ${frame.message.content}`;
    });
  }

  #onError(frame: ErrorFrame): void {
    if (frame.event !== undefined) {
      this.#lastEvent = frame.event;
      if (frame.id !== undefined) saveLastDone(frame.event); // a failed turn is finished too
    }
    if (frame.code === "session_expired") {
      this.#expire();
      return;
    }
    // A Stop that crossed the end of its reply is refused; its `done` says all there is to say.
    if (frame.id !== undefined && frame.code === "invalid_frame") {
      if (!this.#pending(frame.id)) return;
      if (this.stopping.value && this.activeTurn.value === frame.id) {
        this.stopping.value = false;
        return;
      }
    }
    if (frame.code === "model_unavailable") this.refreshHealth();
    // The server answers each frame in order, so an error without an id that is not about a frame
    // we got wrong belongs to the oldest turn still waiting for its ack: fail it, or it hangs.
    const turn = frame.id ??
      (frame.code === "invalid_frame" ? undefined : this.#oldestUnacked());
    if (turn === undefined || !this.#pending(turn)) {
      this.toast(frame.message);
      return;
    }
    // Shown on the message itself (with Retry), and read out.
    this.#outbox.delete(turn);
    batch(() => {
      this.announcement.value = frame.message;
      this.messages.value = this.messages.value.flatMap((m): UiMessage[] => {
        if (m.turn !== turn) return [m];
        if (m.role === "user") return [{ ...m, state: "failed", error: frame.message }];
        // Keep any text the reply got before it failed.
        return m.content ? [{ ...m, state: "failed", error: frame.message }] : [];
      });
      if (this.activeTurn.value === turn) {
        this.activeTurn.value = null;
        this.stopping.value = false;
      }
    });
  }

  // ---- helpers ----

  #expire(): void {
    this.#socket?.close();
    this.#socket = null;
    forgetToken();
    this.#outbox.clear();
    batch(() => {
      this.expired.value = EXPIRED_NOTICE;
      this.activeTurn.value = null;
      this.stopping.value = false;
      this.link.value = { kind: "expired", reason: "" };
      this.messages.value = this.messages.value.flatMap((m): UiMessage[] =>
        m.state === "sending"
          ? [{ ...m, state: "failed", error: "Not sent: the session expired." }]
          : m.state === "streaming"
          ? (m.content ? [{ ...m, state: "stopped" }] : [])
          : [m]
      );
    });
  }

  #reset(token: string): void {
    this.#token = token;
    this.#outbox.clear();
    this.#pendingStop = null;
    this.#lastEvent = null;
    this.#resumeFrom = null;
    batch(() => {
      this.messages.value = [];
      this.expired.value = null;
      this.activeTurn.value = null;
      this.stopping.value = false;
      this.formError.value = null;
    });
  }

  #updateUser(turn: string, update: (m: UiMessage) => UiMessage): void {
    const list = this.messages.value;
    const index = list.findIndex((m) => m.role === "user" && m.turn === turn);
    if (index < 0) return;
    const changed = update(list[index]);
    if (changed === list[index]) return;
    const next = list.slice();
    next[index] = changed;
    this.messages.value = next;
  }

  #oldestUnacked(): string | undefined {
    for (const [id, turn] of this.#outbox) if (!turn.acked) return id;
  }

  #pending(turn: string): boolean {
    return this.#outbox.has(turn) || this.activeTurn.value === turn;
  }

  /** A turn whose reply is already shown in full (for example, from the history). */
  #alreadyAnswered(list: UiMessage[], turn: string): boolean {
    const user = list.findIndex((m) => m.role === "user" && m.turn === turn);
    const reply = list[user + 1];
    return user >= 0 && reply?.role === "assistant" && reply.id !== undefined &&
      reply.turn !== turn;
  }

  /** Right after the turn's question when it is shown, else at the end. */
  #insertionPoint(list: UiMessage[], turn: string): number {
    const user = list.findIndex((m) => m.role === "user" && m.turn === turn);
    return user >= 0 ? user + 1 : list.length;
  }
}

// The chat's signals and the actions that change them. The conversation rules are pure functions
// (messages.ts, outbox.ts); this wires them to the session, the socket and storage. Components only
// read the signals and call the actions. Creating a store has no side effects, so the island can
// render it on the server.
import { batch, computed, signal } from "@preact/signals";
import type { ClientFrame } from "../../lib/contract/frames.ts";
import type { LinkState, UiMessage } from "../../components/types.ts";
import { loadMarkdown } from "../../components/markdown/loader.ts";
import { chatSocketUrl, fetchHistory, isExpired, requestToken } from "./api.ts";
import { HealthWatch } from "./health.ts";
import * as conversation from "./messages.ts";
import { receive } from "./replies.ts";
import { reopenFrames, stopSent } from "./outbox.ts";
import { forgetToken, loadLastDone, loadSession, saveLastDone, saveSession } from "./saved.ts";
import { ReconnectingSocket } from "./socket.ts";
import { ToastQueue } from "./toasts.ts";
import { encodeFrame, newTurnId, parseServerFrame } from "./wire.ts";

export type Phase = "boot" | "welcome" | "loading" | "load_failed" | "chat";

export interface ChatOptions {
  maxChars: number;
}

const EXPIRED_NOTICE = "Your session has expired, so this conversation has ended.";

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
  readonly toasts = new ToastQueue();
  readonly health = new HealthWatch();
  /** Text for the screen-reader live region. */
  readonly announcement = signal("");
  readonly formError = signal<string | null>(null);
  readonly starting = signal(false);
  readonly loadError = signal<string | null>(null);
  readonly busy = computed(() => this.activeTurn.value !== null);

  #token = "";
  #socket: ReconnectingSocket | null = null;
  /** The whole conversation; `messages`, `activeTurn` and `stopping` show parts of it. */
  #state = conversation.newConversation();
  /** Where a freshly loaded page replays from, so a reply in progress at reload continues. */
  #resumeFrom: string | null = null;

  constructor(readonly options: ChatOptions) {}

  /** Runs in the browser once the island is hydrated. */
  boot(): void {
    loadMarkdown();
    this.health.refresh();
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

  async loadHistory(): Promise<void> {
    batch(() => {
      this.phase.value = "loading";
      this.loadError.value = null;
    });
    try {
      const history = await fetchHistory(this.#token);
      batch(() => {
        this.name.value = history.name;
        this.#set({ ...this.#state, messages: conversation.fromHistory(history.messages) });
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
      if (this.phase.value === "chat") this.toasts.show((e as Error).message);
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
      this.toasts.show(`A message can have at most ${this.options.maxChars} characters.`);
      return false;
    }
    const turn = newTurnId();
    this.#set(conversation.startTurn(this.#state, turn, text));
    this.#send({ type: "message", id: turn, content: text });
    return true;
  }

  stop(): void {
    const next = conversation.requestStop(this.#state);
    if (!next) return;
    this.#set(next);
    if (this.#send({ type: "stop", id: next.activeTurn! })) this.#stopSent();
  }

  /** Sends a failed message again, as a new turn. */
  retry(turn: string): void {
    const withdrawn = conversation.withdrawTurn(this.#state, turn);
    if (!withdrawn) return;
    this.#set(withdrawn.state);
    this.send(withdrawn.content);
  }

  retryConnection(): void {
    this.#socket?.retryNow();
  }

  dispose(): void {
    this.health.dispose();
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
    const frames = reopenFrames(this.#state.outbox, {
      lastEvent: this.#state.lastEvent,
      resumeFrom: this.#resumeFrom,
      isReconnect,
    });
    this.#state = { ...this.#state, gapResumeAsked: false };
    for (const frame of frames) {
      if (socket.send(encodeFrame(frame)) && frame.type === "stop") this.#stopSent();
    }
    if (isReconnect) this.health.refresh();
  }

  #onData(data: unknown): void {
    const frame = parseServerFrame(data);
    if (!frame) {
      console.warn("Ignored an unreadable frame", data);
      return;
    }
    const out = receive(this.#state, frame);
    if (out.resume !== undefined) this.#send({ type: "resume", after: out.resume });
    if (out.finished !== undefined) saveLastDone(out.finished);
    if (out.health === "down" || (out.health === "up" && this.health.degraded)) {
      this.health.refresh();
    }
    if (out.toast !== undefined) this.toasts.show(out.toast);
    batch(() => {
      this.#set(out.state);
      if (out.announce !== undefined) this.announcement.value = out.announce;
    });
    if (out.expired) this.#expire();
  }

  // ---- helpers ----

  /** Shows a new state of the conversation. */
  #set(next: conversation.Conversation): void {
    this.#state = next;
    batch(() => {
      this.messages.value = next.messages;
      this.activeTurn.value = next.activeTurn;
      this.stopping.value = next.stopping;
    });
  }

  /** False when the socket is down; the outbox then re-sends what matters on the next open. */
  #send(frame: ClientFrame): boolean {
    return this.#socket?.send(encodeFrame(frame)) ?? false;
  }

  #stopSent(): void {
    this.#state = { ...this.#state, outbox: stopSent(this.#state.outbox) };
  }

  #expire(): void {
    this.#socket?.close();
    this.#socket = null;
    forgetToken();
    batch(() => {
      this.#set(conversation.expire(this.#state));
      this.expired.value = EXPIRED_NOTICE;
      this.link.value = { kind: "expired", reason: "" };
    });
  }

  #reset(token: string): void {
    this.#token = token;
    this.#resumeFrom = null;
    batch(() => {
      this.#set(conversation.newConversation());
      this.expired.value = null;
      this.formError.value = null;
    });
  }
}

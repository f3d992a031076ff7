// The chat's session and socket, and the signals around them. The conversations are the view's
// (view.ts) and the sidebar's (sidebar.ts); the rules are pure functions (messages.ts, replies.ts,
// outbox.ts, conversation_list.ts). Components only read the signals and call the actions.
// Creating a store has no side effects, so the island can render it on the server.
import { batch, signal } from "@preact/signals";
import type { ClientFrame } from "../../lib/contract/frames.ts";
import { DEFAULT_CONVERSATION } from "../../lib/contract/conversations.ts";
import type { LinkState } from "../../components/types.ts";
import { loadMarkdown } from "../../components/markdown/loader.ts";
import { loadExtras } from "../../components/extras_loader.ts";
import { chatSocketUrl, fetchConversation, fetchHistory, isExpired, requestToken } from "./api.ts";
import { isNewEvent } from "./events.ts";
import { HealthWatch } from "./health.ts";
import * as saved from "./saved.ts";
import { SessionTimer } from "./session_timer.ts";
import { Sidebar } from "./sidebar.ts";
import { ReconnectingSocket } from "./socket.ts";
import { ThemeChoice } from "./theme.ts";
import { ToastQueue } from "./toasts.ts";
import { ConversationView } from "./view.ts";
import { encodeFrame, parseServerFrame } from "./wire.ts";

export type Phase = "boot" | "welcome" | "loading" | "load_failed" | "chat";

export interface ChatOptions {
  maxChars: number;
}

const EXPIRED_NOTICE = "Your session has expired, so this conversation has ended.";

export class ChatStore {
  readonly phase = signal<Phase>("boot");
  readonly name = signal("");
  readonly link = signal<LinkState>({ kind: "closed" });
  /** The notice shown instead of the composer once the session is gone. */
  readonly expired = signal<string | null>(null);
  readonly toasts = new ToastQueue();
  readonly health = new HealthWatch();
  readonly theme = new ThemeChoice();
  readonly timer = new SessionTimer();
  readonly sidebar: Sidebar = new Sidebar({
    token: () => this.#token,
    notify: (text) => this.toasts.show(text),
    gone: (id) => this.view.gone(id),
  });
  readonly view: ConversationView;
  /** Text for the screen-reader live region. */
  readonly announcement = signal("");
  readonly formError = signal<string | null>(null);
  readonly starting = signal(false);
  readonly loadError = signal<string | null>(null);

  #token = "";
  #socket: ReconnectingSocket | null = null;
  /** The newest reply event seen on the socket, in any conversation: where a reconnect resumes. */
  #lastEvent: string | null = null;
  /** Where a freshly loaded page replays from, so a reply in progress at reload continues. */
  #resumeFrom: string | null = null;

  constructor(readonly options: ChatOptions) {
    this.view = new ConversationView({
      token: () => this.#token,
      send: (frame) => this.#send(frame),
      toast: (text) => this.toasts.show(text),
      ended: () => this.expired.value !== null,
      maxChars: options.maxChars,
    }, this.sidebar);
  }

  /** Runs in the browser once the island is hydrated. */
  boot(): void {
    this.theme.boot();
    loadExtras();
    loadMarkdown();
    this.health.refresh();
    const s = saved.loadSession();
    this.name.value = s?.name ?? "";
    if (s?.token) {
      this.#token = s.token;
      this.loadHistory();
    } else {
      this.phase.value = "welcome";
      performance.mark("chat:welcome-ready");
    }
  }

  /** The session, its list and the conversation open last time (the default one, at first). */
  async loadHistory(): Promise<void> {
    batch(() => {
      this.phase.value = "loading";
      this.loadError.value = null;
    });
    try {
      const [history] = await Promise.all([fetchHistory(this.#token), this.sidebar.load()]);
      this.timer.learn(history.expires_at);
      const wanted = saved.loadCurrent();
      const other = wanted && wanted !== DEFAULT_CONVERSATION && this.sidebar.find(wanted);
      const id = other ? wanted : DEFAULT_CONVERSATION;
      const shown = other ? await fetchConversation(this.#token, id) : history;
      batch(() => {
        this.name.value = history.name;
        this.view.load(id, shown.messages);
        this.view.show(id);
        this.phase.value = "chat";
      });
      this.#resumeFrom = saved.loadLastDone() ?? "0-0";
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
      saved.saveSession({ token: session.token, name: session.name });
      this.#reset(session.token);
      this.timer.learn(session.expires_at);
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
    saved.forgetToken();
    this.#reset("");
    this.phase.value = "welcome";
  }

  /** Sends a failed message again, as a new turn; after expiry, in a new session. */
  async retry(turn: string): Promise<void> {
    const wasExpired = this.expired.value !== null;
    const again = this.view.withdraw(turn);
    if (!again) return;
    if (wasExpired) {
      await this.newSession();
      // What the person typed is never lost: if no session could start, it goes in a toast.
      if (this.expired.value !== null || !this.view.send(again.content)) {
        this.toasts.show(`Not sent: ${again.content}`);
      }
      return;
    }
    this.view.send(again.content, again.replaces);
  }

  retryConnection(): void {
    this.#socket?.retryNow();
  }

  dispose(): void {
    this.health.dispose();
    this.timer.dispose();
    this.#socket?.close();
  }

  // ---- the socket ----

  #connect(): void {
    this.#socket?.close();
    const socket = new ReconnectingSocket(() => chatSocketUrl(this.#token), {
      onState: (state) => {
        if (this.#socket !== socket) return;
        this.link.value = state;
        this.timer.linked(state.kind === "open");
        if (state.kind === "expired") this.#expire();
      },
      onOpen: (isReconnect) => this.#onOpen(socket, isReconnect),
      onData: (data) => this.#onData(data),
    });
    this.#socket = socket;
    socket.connect();
  }

  #onOpen(socket: ReconnectingSocket, isReconnect: boolean): void {
    const frames = this.view.reopen({
      lastEvent: this.#lastEvent,
      resumeFrom: this.#resumeFrom,
      isReconnect,
    });
    for (const frame of frames) {
      if (socket.send(encodeFrame(frame)) && frame.type === "stop") this.view.stopSent(frame.id);
    }
    if (isReconnect) {
      this.health.refresh();
      this.sidebar.load().catch(() => {});
    }
  }

  #onData(data: unknown): void {
    const frame = parseServerFrame(data);
    if (!frame) {
      console.warn("Ignored an unreadable frame", data);
      return;
    }
    this.timer.alive();
    if (frame.type === "conversation" || frame.type === "conversation_deleted") {
      return this.sidebar.apply(frame);
    }
    if (frame.type !== "ack" && frame.event && isNewEvent(frame.event, this.#lastEvent)) {
      this.#lastEvent = frame.event;
    }
    const out = this.view.receive(frame);
    if (!out) {
      if (frame.type === "error" && frame.code === "session_expired") this.#expire();
      return;
    }
    if (out.resume !== undefined) this.#send({ type: "resume", after: out.resume });
    if (out.finished !== undefined) saved.saveLastDone(out.finished);
    if (out.health === "down" || (out.health === "up" && this.health.degraded)) {
      this.health.refresh();
    }
    if (out.toast !== undefined) this.toasts.show(out.toast);
    if (out.announce !== undefined) this.announcement.value = out.announce;
    if (out.expired) this.#expire();
  }

  // ---- helpers ----

  /** False when the socket is down; the outbox then re-sends what matters on the next open. */
  #send(frame: ClientFrame): boolean {
    return this.#socket?.send(encodeFrame(frame)) ?? false;
  }

  #expire(): void {
    this.#socket?.close();
    this.#socket = null;
    saved.forgetToken();
    batch(() => {
      this.view.expire();
      this.expired.value = EXPIRED_NOTICE;
      this.link.value = { kind: "expired", reason: "" };
    });
  }

  #reset(token: string): void {
    this.#token = token;
    this.#resumeFrom = null;
    this.#lastEvent = null;
    this.sidebar.reset();
    batch(() => {
      this.view.reset();
      this.expired.value = null;
      this.formError.value = null;
    });
  }
}

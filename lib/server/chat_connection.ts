// One chat socket: validates client frames, queues turns, relays reply events in order, and
// makes sure every turn it waits on ends (see turn_watch.ts), worker or not.
import { ClientFrame, type ErrorCode, type ServerFrame } from "../contract/frames.ts";
import { isStreamId } from "../contract/stream_ids.ts";
import type { Logger } from "../log.ts";
import type { ConnectionMetrics } from "./metrics.ts";
import { sessionKeys } from "../redis/keys.ts";
import { readReplyEntry, toReplyEvent } from "../redis/reply_entry.ts";
import { MAX_FRAME_BYTES } from "./limits.ts";
import type { ReplyListener } from "./reply_relay.ts";
import type { Deps } from "./services.ts";
import { TurnWatch } from "./turn_watch.ts";
import { keepAlive, type KeptAlive } from "./keep_alive.ts";
import { USER_MESSAGES } from "./user_messages.ts";
import { acceptTurnFrame, type TurnSink } from "./turn_frames.ts";

/** After a resume, poll fast for a while even if this socket queued nothing itself. */
const RESUME_FAST_MS = 5000;
/** Beyond the claim idle time: how long a silent turn may wait for another worker to claim it. */
const ORPHAN_MARGIN_MS = 3000;

/**
 * An open socket keeps its session alive: one TOUCH_SESSION a minute (a third of the TTL when that
 * is shorter, so a short TTL, as in tests, still never lapses under an open tab).
 */
export const keepAliveMs = (ttlSeconds: number): number => Math.min(60_000, ttlSeconds * 1000 / 3);

export class ChatConnection implements ReplyListener, KeptAlive {
  readonly key: string;
  #fastUntil = 0;
  #queue: Promise<void> | undefined;
  /** The last event this socket delivered: where to fall back to if a resume cursor fails. */
  #delivered: string;
  /** Made for the first turn this socket waits on: most sockets never wait on one. */
  #turns: TurnWatch | null = null;
  #gone = false;
  readonly #metrics: ConnectionMetrics;
  /** Reply events that arrive while a turn is being accepted wait for its ack (sent first). */
  #held: ServerFrame[] | null = null;

  constructor(
    private socket: WebSocket,
    private token: string,
    public cursor: string,
    private deps: Deps,
    private log: Logger,
    /** The upgrade request's x-request-id: queued with each turn, so worker logs name it too. */
    private requestId = "",
    /** The session's name, queued with each turn for the model's system prompt. */
    private userName = "",
  ) {
    this.key = sessionKeys(token).replies;
    this.#delivered = cursor;
    this.#metrics = deps.metrics.connection(log);
    // The connection is the socket's listener object (handleEvent): no closures per socket.
    for (const type of ["open", "message", "close", "error"]) socket.addEventListener(type, this);
  }

  // Read only when (un)registering with the relay: not worth two strings per idle socket.
  get sessionKey(): string {
    return sessionKeys(this.token).session;
  }

  get turnsKey(): string {
    return sessionKeys(this.token).turns;
  }

  handleEvent(e: Event): void {
    if (e.type === "open") this.#opened();
    else if (e.type === "message") this.#onFrame((e as MessageEvent).data);
    else this.#closed();
  }

  expecting(): boolean {
    return (this.#turns?.watching ?? 0) > 0 || Date.now() < this.#fastUntil;
  }

  deliver(event: string, fields: Record<string, string>): void {
    this.#delivered = event;
    const entry = readReplyEntry(fields);
    if (!entry) return;
    this.#metrics.delivered(entry);
    // A turn queued from another tab is this socket's to watch too.
    if (entry.type === "delta" || entry.type === "user") this.#watch()?.expect(entry.id);
    else if (entry.type === "done" || entry.type === "error") this.#turns?.settled(entry.id);
    const frame = { ...toReplyEvent(entry), event } as ServerFrame;
    if (this.#held) this.#held.push(frame);
    else this.#send(frame);
  }

  /** The relay could not read from `cursor` (a bad resume): go back to what this socket saw. */
  cursorFailed(): void {
    this.cursor = this.#delivered;
    this.#error("invalid_frame", "That resume position is unknown; replaying from the last event.");
  }

  /** Keeps the session alive while the socket is open (see keepAliveMs). */
  async touch(): Promise<void> {
    try {
      if (await this.deps.conversations.touch(this.token) === "session_gone") {
        this.#error("session_expired", USER_MESSAGES.expired);
        this.socket.close(1008, "session_expired");
      }
    } catch (err) {
      this.log.warn("keeping the session alive failed", { error: String(err) });
    }
  }

  #opened(): void {
    this.#metrics.opened();
    // Turns queued before this socket opened (a reload, another tab) are watched too.
    this.deps.relay.add(this).then(
      (running) => running.forEach((turn) => this.#watch()?.expect(turn)),
      (err) => this.log.error("relay: adding a socket failed", { error: String(err) }),
    );
    keepAlive(keepAliveMs(this.deps.config.SESSION_TTL_SECONDS)).add(this);
  }

  #closed(): void {
    this.#gone = true;
    keepAlive(keepAliveMs(this.deps.config.SESSION_TTL_SECONDS)).delete(this);
    this.#metrics.closed();
    this.deps.relay.remove(this);
    this.#turns?.close();
  }

  /** The socket's turn watch, made on first use; null once the socket closed without one. */
  #watch(): TurnWatch | null {
    if (this.#turns || this.#gone) return this.#turns;
    this.#turns = new TurnWatch(
      (turn, mode) => this.#endAbandoned(turn, mode),
      this.deps.config.WORKER_CLAIM_IDLE_MS + ORPHAN_MARGIN_MS,
      undefined,
      (err, turn) => this.log.warn("ending an abandoned turn failed", { turn, error: String(err) }),
    );
    return this.#turns;
  }

  async #endAbandoned(turn: string, mode: "stop" | "orphan") {
    const noWorkers = !(await this.deps.availability()).available;
    const outcome = await this.deps.queue.endAbandoned(this.token, turn, mode, {
      idleMs: this.deps.config.WORKER_CLAIM_IDLE_MS,
      noWorkers,
      error: { code: "model_error", message: USER_MESSAGES.interrupted },
    });
    if (outcome === "ended") {
      this.log.warn("ended a turn no worker finished", { turn, mode });
      this.deps.relay.wake([this.key]);
    }
    return outcome;
  }

  #send(frame: ServerFrame): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  #error(code: ErrorCode, message: string, id?: string, conversation?: string): void {
    this.#metrics.refused(code);
    this.#send({
      type: "error",
      code,
      message,
      ...(id ? { id } : {}),
      ...(conversation ? { conversation } : {}),
    });
  }

  /** What accepting a turn tells this socket (made per turn frame, not kept per socket). */
  #sink(): TurnSink {
    return {
      error: (code, message, id, conversation) => this.#error(code, message, id, conversation),
      ack: (id, conversation) => this.#send({ type: "ack", id, conversation }),
      queued: (id) => {
        this.#watch()?.expect(id);
        this.#metrics.acked(id);
      },
      expired: (id) => {
        this.#error("session_expired", USER_MESSAGES.expired, id);
        this.socket.close(1008, "session_expired");
      },
    };
  }

  #onFrame(data: unknown): void {
    if (typeof data !== "string") {
      this.#error("invalid_frame", "Send JSON text frames; binary frames are not understood.");
      return;
    }
    if (new TextEncoder().encode(data).length > MAX_FRAME_BYTES) {
      this.socket.close(1009, `Frames are limited to ${MAX_FRAME_BYTES} bytes.`);
      return;
    }
    // One frame at a time, so acks and errors come back in the order frames were sent.
    this.#queue = (this.#queue ?? Promise.resolve()).then(() => this.#handle(data)).catch((err) => {
      this.log.error("handling a frame failed", { error: String(err) });
      this.#error("internal_error", USER_MESSAGES.internal);
    });
  }

  async #handle(data: string): Promise<void> {
    const frame = parseFrame(data);
    if (!frame.success) {
      this.#error("invalid_frame", frame.message);
      return;
    }
    const f = frame.data;
    if (f.type === "message" || f.type === "edit" || f.type === "regenerate") {
      try {
        const { token, requestId, deps, log, userName } = this;
        this.#held ??= [];
        return await acceptTurnFrame(f, {
          token,
          requestId,
          userName,
          deps,
          log,
          sink: this.#sink(),
        });
      } catch (err) {
        // Name the turn, so the client can offer a retry instead of waiting for a reply.
        this.log.error("queueing a turn failed", { turn: f.id, error: String(err) });
        return this.#error("internal_error", USER_MESSAGES.notSent, f.id);
      } finally {
        const held = this.#held ?? [];
        this.#held = null;
        for (const frame of held) this.#send(frame);
      }
    }
    if (f.type === "stop") {
      const stopping = await this.deps.queue.requestStop(this.token, f.id);
      if (!stopping) {
        this.#error("invalid_frame", "No reply is in progress for that message.", f.id);
        return;
      }
      this.#watch()?.stopped(f.id);
      return;
    }
    if (!isStreamId(f.after) && f.after !== "0") {
      this.#error("invalid_frame", "`after` must be an event id this server sent.");
      return;
    }
    this.cursor = f.after === "0" ? "0-0" : f.after;
    this.#fastUntil = Date.now() + RESUME_FAST_MS;
    this.deps.relay.wake([this.key]);
  }
}

type Parsed = { success: true; data: ClientFrame } | { success: false; message: string };

/** JSON objects are frames; any other text is a user turn, as the seed's clients send it. */
export function parseFrame(data: string): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    json = undefined;
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    return { success: true, data: { type: "message", id: crypto.randomUUID(), content: data } };
  }
  const parsed = ClientFrame.safeParse(json);
  if (parsed.success) return parsed;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? ` (${issue.path.join(".")})` : "";
  return { success: false, message: `Invalid frame${where}: ${issue?.message ?? "unknown"}.` };
}

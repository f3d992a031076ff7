// One chat socket: validates client frames, queues turns, relays reply events in order.
import { ClientFrame, type ErrorCode, type ServerFrame } from "../contract/frames.ts";
import type { Deps } from "./services.ts";
import { toReplyEvent } from "../redis/reply_entry.ts";
import { sessionKeys } from "../redis/keys.ts";
import type { ReplyListener } from "./reply_relay.ts";
import { isStreamId } from "../contract/stream_ids.ts";

export const MAX_FRAME_BYTES = 64 * 1024;
/** After a resume, poll fast for a while even if this socket queued nothing itself. */
const RESUME_FAST_MS = 5000;

export class ChatConnection implements ReplyListener {
  readonly key: string;
  #inFlight = new Set<string>();
  #fastUntil = 0;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private socket: WebSocket,
    private token: string,
    public cursor: string,
    private deps: Deps,
  ) {
    this.key = sessionKeys(token).replies;
    socket.onopen = () => deps.relay.add(this);
    socket.onmessage = (e) => this.#onFrame(e.data);
    socket.onclose = () => deps.relay.remove(this);
    socket.onerror = () => deps.relay.remove(this);
  }

  expecting(): boolean {
    return this.#inFlight.size > 0 || Date.now() < this.#fastUntil;
  }

  deliver(event: string, fields: Record<string, string>): void {
    const reply = toReplyEvent(fields);
    if (!reply) return;
    if (reply.type !== "delta" && reply.id) this.#inFlight.delete(reply.id);
    this.#send({ ...reply, event } as ServerFrame);
  }

  #send(frame: ServerFrame): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  #error(code: ErrorCode, message: string, id?: string): void {
    this.#send({ type: "error", code, message, ...(id ? { id } : {}) });
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
    this.#queue = this.#queue.then(() => this.#handle(data)).catch((err) => {
      console.error("chat: handling a frame failed:", err);
      this.#error("internal_error", "Something went wrong on our side. Please try again.");
    });
  }

  async #handle(data: string): Promise<void> {
    const frame = parseFrame(data);
    if (!frame.success) {
      this.#error("invalid_frame", frame.message);
      return;
    }
    const f = frame.data;
    if (f.type === "message") {
      try {
        return await this.#message(f.id, f.content);
      } catch (err) {
        // Name the turn, so the client can offer a retry instead of waiting for a reply.
        console.error("chat: queueing a turn failed:", err);
        return this.#error("internal_error", "Your message could not be sent. Try again.", f.id);
      }
    }
    if (f.type === "stop") {
      const stopping = await this.deps.queue.requestStop(this.token, f.id);
      if (!stopping) {
        this.#error("invalid_frame", "No reply is in progress for that message.", f.id);
      }
      return;
    }
    if (!isStreamId(f.after) && f.after !== "0") {
      this.#error("invalid_frame", "`after` must be an event id this server sent.");
      return;
    }
    this.cursor = f.after === "0" ? "0-0" : f.after;
    this.#fastUntil = Date.now() + RESUME_FAST_MS;
    this.deps.relay.wake();
  }

  async #message(id: string, content: string): Promise<void> {
    const { config, queue, ratelimit, availability, relay } = this.deps;
    if (!content.trim()) return this.#error("invalid_frame", "A message cannot be empty.", id);
    if (content.length > config.MAX_MESSAGE_CHARS) {
      return this.#error(
        "message_too_long",
        `Messages are limited to ${config.MAX_MESSAGE_CHARS} characters (this one has ${content.length}).`,
        id,
      );
    }
    const model = await availability();
    if (!model.available) {
      return this.#error("model_unavailable", model.detail ?? "No model is available.", id);
    }
    const limit = await ratelimit.limit(this.token);
    if (!limit.success) {
      const wait = Math.max(1, Math.ceil((limit.reset - Date.now()) / 1000));
      return this.#error("rate_limited", `Too many messages. Try again in ${wait} s.`, id);
    }
    const accepted = await queue.accept(this.token, id, content);
    if (accepted === "session_gone") {
      this.#error("session_expired", "Your session has expired. Start a new one.", id);
      this.socket.close(1008, "session_expired");
      return;
    }
    // A duplicate id is acknowledged again but never queued twice.
    if (accepted === "queued") this.#inFlight.add(id);
    this.#send({ type: "ack", id });
    relay.wake();
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

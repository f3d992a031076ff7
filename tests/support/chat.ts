// Helpers for tests that talk to the chat socket. Frames and history are the contract's types
// (lib/contract), checked with its schemas, so a test reads `done.message.content` without casts.
import assert from "node:assert/strict";
import type { DoneFrame, ErrorFrame, ServerFrame } from "../../lib/contract/frames.ts";
import { History } from "../../lib/contract/payloads.ts";
import type { ChatClient } from "./stack.ts";

export type { ServerFrame };
export type FrameType = ServerFrame["type"];
export type FrameOf<T extends FrameType> = Extract<ServerFrame, { type: T }>;

/** The frames of turn `id`, optionally only those of one type. */
export function framesFor(client: ChatClient, id: string): ServerFrame[];
export function framesFor<T extends FrameType>(
  client: ChatClient,
  id: string,
  type: T,
): FrameOf<T>[];
export function framesFor(client: ChatClient, id: string, type?: FrameType): ServerFrame[] {
  return client.frames.filter((f) => f.id === id && (!type || f.type === type));
}

/** The reply text a client that follows the contract would show (offsets applied). */
export function replyText(frames: readonly ServerFrame[], id: string): string {
  let text = "";
  for (const f of frames) {
    if (f.id !== id || f.type !== "delta") continue;
    text = text.slice(0, f.offset) + f.text;
  }
  return text;
}

/** For `client.waitFor`: the done frame of turn `id`. */
export const doneOf = (id: string) => (f: ServerFrame): f is DoneFrame =>
  f.type === "done" && f.id === id;

/** Sends a message and waits for the turn to end: its done or error frame. */
export async function sendTurn(
  client: ChatClient,
  id: string,
  content: string,
): Promise<DoneFrame | ErrorFrame> {
  client.send({ type: "message", id, content });
  return await client.waitFor((f): f is DoneFrame | ErrorFrame =>
    f.id === id && (f.type === "done" || f.type === "error")
  );
}

/** Asserts a turn ended in its done frame; a failure shows the error frame (and the stack's logs). */
export function assertDone(
  end: DoneFrame | ErrorFrame,
  logs?: () => string,
): asserts end is DoneFrame {
  if (end.type === "done") return;
  const tail = logs ? `\n${logs().split("\n").slice(-40).join("\n")}` : "";
  assert.fail(`turn ${end.id} ended in an error: ${JSON.stringify(end)}${tail}`);
}

/** GET /api/history for a session: it must answer 200 with a body that matches the contract. */
export async function fetchHistory(baseUrl: string, token: string): Promise<History> {
  const res = await fetch(`${baseUrl}/api/history`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = await res.json();
  assert.equal(res.status, 200, `history: ${JSON.stringify(body)}`);
  return History.parse(body);
}

/** Sends a turn (to `conversation`, or the default one) and waits for its done frame. */
export async function turnIn(
  client: ChatClient,
  id: string,
  content: string,
  conversation?: string,
): Promise<DoneFrame> {
  client.send({ type: "message", id, content, ...(conversation ? { conversation } : {}) });
  return await client.waitFor(doneOf(id));
}

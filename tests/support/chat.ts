// Helpers for tests that talk to the chat socket.
import type { ChatClient } from "./stack.ts";

export type Frame = Record<string, unknown>;

export const framesFor = (client: ChatClient, id: string, type?: string) =>
  client.frames.filter((f) => f.id === id && (!type || f.type === type));

/** The reply text a client that follows the contract would show (offsets applied). */
export function replyText(frames: Frame[], id: string): string {
  let text = "";
  for (const f of frames) {
    if (f.id !== id || f.type !== "delta") continue;
    text = text.slice(0, f.offset as number) + (f.text as string);
  }
  return text;
}

export async function sendTurn(client: ChatClient, id: string, content: string) {
  client.send({ type: "message", id, content });
  return await client.waitFor((f) => f.id === id && (f.type === "done" || f.type === "error"));
}

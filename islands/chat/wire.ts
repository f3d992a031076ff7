// The socket's frames as the browser sees them: server frames read with the same zod schemas the
// server writes them with, client frames written, and the turn ids they carry.
import { type ClientFrame, ServerFrame } from "../../lib/contract/frames.ts";

export function parseServerFrame(data: unknown): ServerFrame | null {
  if (typeof data !== "string") return null;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return null;
  }
  const parsed = ServerFrame.safeParse(json);
  return parsed.success ? parsed.data : null;
}

export const encodeFrame = (frame: ClientFrame): string => JSON.stringify(frame);

export const newTurnId = (): string =>
  // randomUUID needs a secure context; a page opened over plain http on a LAN address has none.
  globalThis.crypto?.randomUUID?.() ??
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0"))
      .join("");

// Reads server frames in the browser with the same zod schemas the server writes them with.
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

// Reads server frames in the browser. The zod schemas in lib/frames.ts are the source of truth;
// only their types are imported here, because zod would add ~90 KB gzipped to the page. These
// checks cover exactly the fields the island reads.
import type { ClientFrame, Message, ServerFrame } from "../../lib/frames.ts";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null;
const isString = (v: unknown): v is string => typeof v === "string";

export function isMessage(v: unknown): v is Message {
  return isObject(v) && isString(v.id) && (v.role === "user" || v.role === "assistant") &&
    isString(v.content) && isString(v.timestamp);
}

export function parseServerFrame(data: unknown): ServerFrame | null {
  if (!isString(data)) return null;
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(v)) return null;
  switch (v.type) {
    case "ack":
      return isString(v.id) ? v as ServerFrame : null;
    case "delta":
      return isString(v.id) && isString(v.text) && isString(v.event) &&
          Number.isInteger(v.offset) && (v.offset as number) >= 0
        ? v as ServerFrame
        : null;
    case "done":
      return isString(v.id) && isString(v.event) && isMessage(v.message) ? v as ServerFrame : null;
    case "error":
      return isString(v.code) && isString(v.message) &&
          (v.id === undefined || isString(v.id)) && (v.event === undefined || isString(v.event))
        ? v as ServerFrame
        : null;
    default:
      return null;
  }
}

export const encodeFrame = (frame: ClientFrame): string => JSON.stringify(frame);

// Streaming-HTTP plumbing shared by the remote providers: a server-sent-events reader and turning
// a failed response into a readable message.
import { byteChunks } from "../byte_chunks.ts";

/**
 * Yields the `data` of each server-sent event in `body` (multi-line data joined with "\n").
 * `onBytes` runs on every chunk received, so the caller can reset an idle timer on raw progress
 * rather than on whole events.
 */
export async function* sseData(
  body: ReadableStream<Uint8Array>,
  onBytes?: () => void,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  // Per call: a global regex keeps its position, and generators interleave.
  const lineEnd = /\r\n|\n|\r/g;
  let buffer = "";
  let data: string[] = [];
  let hasData = false;
  for await (const chunk of byteChunks(body)) {
    onBytes?.();
    buffer += decoder.decode(chunk, { stream: true });
    let from = 0;
    lineEnd.lastIndex = 0;
    let end: RegExpExecArray | null;
    while ((end = lineEnd.exec(buffer)) !== null) {
      // A "\r" at the very end may be the first half of a "\r\n" split across chunks.
      if (end[0] === "\r" && end.index === buffer.length - 1) break;
      const line = buffer.slice(from, end.index);
      from = lineEnd.lastIndex;
      if (line === "") {
        if (hasData) yield data.join("\n");
        data = [];
        hasData = false;
      } else if (line.startsWith("data:")) {
        data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        hasData = true;
      }
      // Comments (":"), "event:", "id:" and "retry:" lines carry nothing the providers use.
    }
    buffer = buffer.slice(from);
  }
  // Be lenient with servers that end the last event without its blank line.
  const rest = (buffer + decoder.decode()).replace(/\r$/, "");
  if (rest.startsWith("data:")) {
    data.push(rest.slice(rest.startsWith("data: ") ? 6 : 5));
    hasData = true;
  }
  if (hasData) yield data.join("\n");
}

/** The human-readable part of an error response from OpenAI, TGI or the HF Inference API. */
export async function errorMessageOf(response: Response): Promise<string> {
  const text = (await response.text()).trim();
  let message = "";
  try {
    const body = JSON.parse(text);
    const error = body?.error ?? body?.detail ?? body?.message;
    if (typeof error === "string") message = error;
    else if (Array.isArray(error)) message = error.map(String).join("; ");
    else if (typeof error?.message === "string") message = error.message;
  } catch {
    // Not JSON: a proxy's HTML page or plain text; the start of it is still the best clue.
  }
  if (!message) message = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 300);
  return message || response.statusText || "no details";
}

// Reading a long-lived byte stream (a model's event stream, a pub/sub subscription) without an
// allocation per read.

/** Bytes a byte stream is read into at a time (the buffer is reused from read to read). */
const READ_BYTES = 16 * 1024;

/**
 * The stream's chunks, each valid only until the next is asked for. A byte stream (every fetch
 * body) is read into one reused buffer: its default reader allocates a fresh 64 KiB buffer per
 * read, and with a model sending one small event per token that allocation (and collecting it)
 * was most of a worker's CPU time.
 */
export async function* byteChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (a stream a test or a wrapper built): read it as it comes.
  }
  if (!byob) {
    const reader = body.getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
  let buffer = new ArrayBuffer(READ_BYTES);
  try {
    while (true) {
      const { value, done } = await byob.read(new Uint8Array(buffer));
      if (done || !value) return;
      buffer = value.buffer as ArrayBuffer;
      yield value;
    }
  } finally {
    await byob.cancel().catch(() => {});
  }
}

// Waiting for a redis-server child to be ready: a child that takes a while to listen is waited
// for (a loaded CI machine), and a port that another server answers fails at once.
import assert from "node:assert/strict";
import { freePort, waitReady } from "../dev/redis_server.ts";

/**
 * A stand-in that answers what waitReady sends (PING and INFO server) as a redis-server with
 * process id `pid` would, listening only after `delayMs`.
 */
function lateServer(port: number, pid: number, delayMs: number) {
  let listener: Deno.Listener | null = null;
  const conns: Deno.Conn[] = [];
  const info = `process_id:${pid}\r\n`;
  const reply = new TextEncoder().encode(`+PONG\r\n$${info.length}\r\n${info}\r\n`);
  const started = new Promise<void>((resolve) =>
    setTimeout(() => {
      listener = Deno.listen({ hostname: "127.0.0.1", port });
      resolve();
      (async () => {
        for await (const conn of listener!) {
          conns.push(conn);
          const buf = new Uint8Array(4096);
          conn.read(buf).then(() => conn.write(reply)).catch(() => {});
        }
      })().catch(() => {});
    }, delayMs)
  );
  return {
    async close() {
      await started;
      listener?.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed by the client */ }
      }
    },
  };
}

Deno.test("a child that listens only after several refused connections is waited for", async () => {
  const port = freePort();
  const server = lateServer(port, 4242, 200);
  try {
    await waitReady(port, undefined, 4242, () => false);
  } finally {
    await server.close();
  }
});

Deno.test("a port answered by another server's process fails at once", async () => {
  const port = freePort();
  const server = lateServer(port, 4242, 0);
  try {
    await new Promise((r) => setTimeout(r, 20));
    const started = performance.now();
    await assert.rejects(
      waitReady(port, undefined, 999_999, () => false),
      /answered by process 4242, not 999999/,
    );
    assert.ok(performance.now() - started < 2000);
  } finally {
    await server.close();
  }
});

// The log sink: a turn's lines share one write, warnings and errors keep their order and are not
// held back, and a process that exits or crashes still writes every line it logged.
import assert from "node:assert/strict";
import { LogSink, type LogStream } from "../lib/log_sink.ts";

const LOG_MODULE = new URL("../lib/log.ts", import.meta.url).href;

function recordingSink() {
  const writes: [LogStream, string][] = [];
  return { writes, sink: new LogSink((stream, text) => writes.push([stream, text])) };
}

const nextTurn = () => new Promise((r) => setTimeout(r, 5));

Deno.test("lines of one event-loop turn are written together, in order, after the turn", async () => {
  const { writes, sink } = recordingSink();
  for (let i = 0; i < 3; i++) sink.write(`line ${i}`);
  sink.write("detail");
  assert.deepEqual(writes, [], "nothing is written synchronously");
  await nextTurn();
  assert.deepEqual(writes, [["stdout", "line 0\nline 1\nline 2\ndetail"]]);
  sink.write("later");
  await nextTurn();
  assert.deepEqual(writes.at(-1), ["stdout", "later"]);
  assert.equal(writes.length, 2);
});

Deno.test("a warning writes the waiting lines first, then itself at once", () => {
  const { writes, sink } = recordingSink();
  sink.write("queued");
  sink.write("something odd", true);
  sink.write("boom", true);
  assert.deepEqual(writes, [["stdout", "queued"], ["stderr", "something odd"], ["stderr", "boom"]]);
});

Deno.test("a full batch is written without waiting for the turn to end", () => {
  const { writes, sink } = recordingSink();
  for (let i = 0; i < 600; i++) sink.write(`l${i}`);
  assert.equal(writes.length, 1);
  assert.equal(writes[0][1].split("\n").length, 512);
  sink.flush();
  assert.equal(writes[1][1].split("\n").length, 88);
});

/** Runs a script that logs through the process's logger; what it printed to stdout. */
async function runLogging(ending: string): Promise<string> {
  const code = `import { log, configureLogging } from "${LOG_MODULE}";
configureLogging({ format: "json", level: "info" });
log.info("last words");
${ending}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return new TextDecoder().decode(out.stdout);
}

for (
  const [how, ending] of [
    ["Deno.exit()", "Deno.exit(0);"],
    ["the event loop running dry", ""],
    // As in an entry point still awaiting its start-up when a rejection nobody handles ends it.
    ["an unhandled rejection", `Promise.reject(new Error("crash")); await new Promise(() => {});`],
  ]
) {
  Deno.test(`a line logged just before ${how} is written`, async () => {
    const out = await runLogging(ending);
    assert.match(out, /"msg":"last words"/);
  });
}

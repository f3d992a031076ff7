// Import graphs that must hold: the web server runs on Deno Deploy (no FFI, no subprocesses, no file
// writes in main.ts's graph, no model or worker code: routes never call a model), and the browser
// bundle reaches nothing but islands, components and the browser-safe contract.
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

async function graph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  return [
    ...info.modules.map((m: { specifier: string }) => m.specifier),
    ...(info.npmPackages ? Object.keys(info.npmPackages) : []),
  ];
}

Deno.test("the web server's import graph is deployable", async () => {
  const modules = await graph("main.ts");
  const local = modules.filter((m) => m.startsWith(root.href));
  assert.ok(local.some((m) => m.endsWith("/routes/api/chat.ts")), "the graph was read");
  const forbidden = modules.filter((m) =>
    /node-llama-cpp|\/lib\/(providers|worker)\/|\/(dev|tasks|tests)\/|\/vendor\/|worker\.ts$/.test(
      m,
    )
  );
  assert.deepEqual(forbidden, []);
  for (const file of local) {
    const source = await Deno.readTextFile(new URL(file));
    const bad = source.match(
      /Deno\.(dlopen|Command|run|writeFile|writeTextFile|mkdir|remove|create|openSync|open)\b/,
    );
    assert.equal(bad, null, `${file.slice(root.href.length)} uses ${bad?.[0]}`);
  }
});

Deno.test("the worker's graph does include the providers (the check above can fail)", async () => {
  const modules = await graph("worker.ts");
  assert.ok(modules.some((m) => m.includes("/lib/providers/openai.ts")));
});

Deno.test("the browser bundle reaches only islands, components and lib/contract", async () => {
  const modules = await graph("islands/_hydrate.ts");
  const local = modules.filter((m) => m.startsWith(root.href)).map((m) =>
    m.slice(root.href.length)
  );
  assert.ok(local.includes("lib/contract/frames.ts"), "the graph was read");
  const outside = local.filter((m) =>
    !/^(islands|components|lib\/contract|node_modules)\//.test(m)
  );
  assert.deepEqual(outside, []);
});

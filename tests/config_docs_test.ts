// The configuration's three descriptions agree: every variable the code reads (lib/config.ts and
// any Deno.env.get) is in .env.example and the README, and every variable the contract's
// Configuration section names is one the code reads.
import assert from "node:assert/strict";
import { ConfigSchema } from "../lib/config.ts";

const ROOT = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));

/** Each file the repository holds (and any new one) of `*.ts` / `*.tsx`, outside dependencies. */
async function* sources(): AsyncGenerator<string> {
  const skip = /^(node_modules|vendor|static|\.data|\.git)\//;
  const files = new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.tsx"],
    cwd: ROOT,
    stdout: "piped",
  }).outputSync();
  for (const file of new TextDecoder().decode(files.stdout).split("\n")) {
    if (file && !skip.test(file)) yield await read(file).catch(() => "");
  }
}

/** Variables read with Deno.env.get outside lib/config.ts (tools, tests, the dev runtime). */
async function directReads(): Promise<string[]> {
  const names = new Set<string>();
  for await (const text of sources()) {
    for (const [, name] of text.matchAll(/Deno\.env\.get\("([A-Z][A-Z0-9_]+)"\)/g)) names.add(name);
  }
  // The process's own environment, not configuration.
  for (const name of ["PATH", "HOME", "DENO_DIR"]) names.delete(name);
  return [...names];
}

Deno.test("every variable the code reads is in .env.example and the README", async () => {
  const example = await read(".env.example");
  const readme = await read("README.md");
  const names = [...Object.keys(ConfigSchema.shape), ...await directReads()];
  const missingExample = names.filter((n) => !new RegExp(`^#? ?${n}=`, "m").test(example));
  const missingReadme = names.filter((n) => !readme.includes(`\`${n}\``));
  assert.deepEqual(missingExample, [], "not in .env.example");
  assert.deepEqual(missingReadme, [], "not in the README's Configuration table");
});

Deno.test("every variable the contract's Configuration names is read by the code", async () => {
  const contract = await Deno.readTextFile(new URL("../shared/contract.md", ROOT));
  const section = contract.split(/^## Configuration/m)[1]?.split(/^## /m)[0] ?? "";
  const named = [...section.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]);
  assert.ok(named.length > 15, "the contract's Configuration section was found");
  const read = new Set(Object.keys(ConfigSchema.shape));
  assert.deepEqual(named.filter((n) => !read.has(n)), []);
});

Deno.test("the defaults the README and .env.example give the tools' variables are the code's", async () => {
  const code = new Map<string, string>();
  for await (const text of sources()) {
    const reads = /Deno\.env\.get\("([A-Z][A-Z0-9_]+)"\) \?\? (\d+|"[^"]*")/g;
    for (const [, name, value] of text.matchAll(reads)) code.set(name, value.replace(/^"|"$/g, ""));
  }
  for (const name of ["PATH", "HOME"]) code.delete(name);
  assert.ok(code.size >= 5, "the tools' defaults were found");
  const [readme, example] = [await read("README.md"), await read(".env.example")];
  const wrong: string[] = [];
  // Rows of the Configuration table: `A`, `B` | `a`, `b` | meaning. A default written in words
  // ("all parts") is not compared.
  for (const row of readme.split("\n").filter((l) => l.startsWith("| `"))) {
    const [names, values] = row.split("|").slice(1, 3).map((c) => c.trim().split(", "));
    if (names.length !== values.length) continue;
    names.forEach((n, i) => {
      const value = code.get(n.replaceAll("`", ""));
      const shown = values[i].match(/^`([^`]*)`$/)?.[1];
      if (value !== undefined && shown !== undefined && shown !== value) {
        wrong.push(`README: ${n} defaults to ${shown}, the code to ${value}`);
      }
    });
  }
  for (const [name, value] of code) {
    const line = example.match(new RegExp(`^#? ?${name}=(.*)$`, "m"))?.[1];
    if (line !== value) wrong.push(`.env.example: ${name}=${line}, the code defaults to ${value}`);
  }
  assert.deepEqual(wrong, []);
});

// The configuration's three descriptions agree: every variable the code reads (lib/config.ts and
// any Deno.env.get) is in .env.example and the README, and every variable the contract's
// Configuration section names is one the code reads.
import assert from "node:assert/strict";
import { ConfigSchema } from "../lib/config.ts";

const ROOT = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));

/** Variables read with Deno.env.get outside lib/config.ts (tools, tests, the dev runtime). */
async function directReads(): Promise<string[]> {
  const names = new Set<string>();
  const skip = /^(node_modules|vendor|static|\.data|\.git)\//;
  const files = new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.tsx"],
    cwd: ROOT,
    stdout: "piped",
  }).outputSync();
  for (const file of new TextDecoder().decode(files.stdout).split("\n")) {
    if (!file || skip.test(file)) continue;
    const text = await read(file).catch(() => "");
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

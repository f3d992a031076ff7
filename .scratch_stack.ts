import { startStack } from "./tests/support/stack.ts";
const reply = (body: { messages: Array<{ role: string; content: string }> }) => {
  const last = body.messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
  if (last.includes("code")) {
    return 'Sure! Here is a **small** example in TypeScript:\n\n```ts\nexport function greet(name: string): string {\n  // say hello\n  return `Hello, ${name}!`;\n}\n```\n\nCall `greet("Ada")` and it returns a greeting. Some things to note:\n\n- it is *pure*\n- it has no side effects';
  }
  if (last.includes("xss")) {
    return 'Here: <script>window.__xss=2</script> and <img src=x onerror="window.__xss=3"> done.';
  }
  return "The quick brown fox jumps over the lazy dog while the calm river flows past the old mill.";
};
const stack = await startStack({ reply, tokenDelayMs: 60 });
console.log("BASE", stack.baseUrl);
await Deno.writeTextFile("/tmp/bt/base.txt", stack.baseUrl);
Deno.addSignalListener("SIGTERM", async () => {
  await stack.stop();
  Deno.exit(0);
});
await new Promise(() => {});

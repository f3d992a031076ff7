// What the local model answers in the browser tests and the README screenshots: a fixed reply
// per kind of message, streamed one word every TOKEN_DELAY_MS.
import type { OpenAIRequestBody } from "../fixtures/model_servers.ts";

export const TOKEN_DELAY_MS = 50;

const words = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(" ") + ".";

/** Any message not matched below. */
export const PLAIN =
  "The quick brown fox jumps over the lazy dog while the calm river flows past the old mill.";
/** Messages starting "long": long enough to stop, scroll or reload in the middle. */
export const LONG = words("stream", 80);
/** Messages starting "restart". */
export const RESTART = words("again", 90);
/** A message with an `onerror` attribute, and the model's answer with markup of its own. */
export const XSS_MESSAGE = '<img src=x onerror="window.__xss=1">';
export const XSS_REPLY =
  'Careful: <script>window.__xss=2</script> and <img src=x onerror="window.__xss=3"> stay text.';
/** Messages mentioning "code": Markdown with a fenced TypeScript block. */
export const CODE = "export function greet(name: string): string {\n  return `Hello, ${name}!`;\n}";
export const CODE_REPLY =
  `Here is a **small** function:\n\n\`\`\`ts\n${CODE}\n\`\`\`\n\nCall \`greet("Ada")\`:\n\n` +
  "- it is *pure*\n- it has no side effects";

/** Messages starting "table": aligned columns, and a table far wider than a phone. */
export const TABLE_REPLY =
  "| Left | Center | Right |\n|:-----|:------:|------:|\n| a | b | c |\n| " +
  "longer cell | mid | 12.50 |\n\n" +
  `| ${Array.from({ length: 12 }, (_, i) => `column number ${i}`).join(" | ")} |\n` +
  `|${" --- |".repeat(12)}\n| ${Array.from({ length: 12 }, (_, i) => `value ${i}`).join(" | ")} |`;
/** Messages starting "math": inline and displayed LaTeX. */
export const MATH_REPLY =
  "Energy is $E = mc^2$, and\n\n$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$\n\nas shown.";
/** Messages starting "codestream": a code block early, then a long tail still streaming. */
export const CODESTREAM_REPLY = "First, the code:\n\n```ts\nconst answer = 42;\n```\n\n" +
  words("tail", 90);
/** Messages starting "vary": a different answer each time (for regenerate). */
let answers = 0;
/** Messages starting "fail" fail once (an empty answer is an error), then succeed. */
const failed = new Set<string>();

/** The newest user message of a request to the model. */
export function lastUser(body: OpenAIRequestBody): string {
  return body.messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
}

/** The model's reply to a request (pass as `reply` to startStack). */
export function reply(body: OpenAIRequestBody): string {
  const text = lastUser(body);
  if (text.startsWith("long")) return LONG;
  if (text.startsWith("restart")) return RESTART;
  if (text.includes("onerror")) return XSS_REPLY;
  if (text.startsWith("codestream")) return CODESTREAM_REPLY;
  if (text.includes("code")) return CODE_REPLY;
  if (text.startsWith("table")) return TABLE_REPLY;
  if (text.startsWith("math")) return MATH_REPLY;
  if (text.startsWith("vary")) return `Answer number ${++answers} to: ${text}`;
  if (text.startsWith("fail") && !failed.has(text)) {
    failed.add(text);
    return "";
  }
  return PLAIN;
}

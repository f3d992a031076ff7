import { ChatClient, newSession } from "./tests/support/stack.ts";
const base = await Deno.readTextFile("/tmp/bt/base.txt");
const token = await newSession(base);
const c = await ChatClient.connect(base, token);
c.send({ type: "message", id: crypto.randomUUID(), content: "hello" });
await new Promise((r) => setTimeout(r, 3000));
console.log(JSON.stringify(c.frames).slice(0, 800));
c.close();

// The client's address for per-address limits: the socket's peer, or the address the one trusted
// proxy in front of us appended to X-Forwarded-For when TRUST_PROXY is set.
import type { Context } from "hono";
import { getConnInfo } from "hono/deno";

export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    // Entries before the last were written by the client itself and prove nothing.
    const hops = (c.req.header("x-forwarded-for") ?? "").split(",").map((s) => s.trim());
    const last = hops.filter(Boolean).at(-1);
    if (last) return last;
  }
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    // Not served by Deno.serve (app.request in tests): one shared bucket.
    return "unknown";
  }
}

// /openapi.json is a valid OpenAPI 3.1 document naming every HTTP route of the contract (read from
// ../shared/contract.md itself), /docs serves its reference page from this origin, and the
// probes and /metrics answer, all without Redis.
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { loadConfig } from "../lib/config.ts";
import { openApiDocument } from "../lib/server/openapi.ts";
import { createDeps } from "../lib/server/services.ts";
import { createApp } from "../main.ts";

const CONTRACT = new URL("../../shared/contract.md", import.meta.url);

/** Every `METHOD /path` the contract names (WS routes are GETs that upgrade). */
async function contractRoutes(): Promise<string[]> {
  const text = await Deno.readTextFile(CONTRACT);
  const found = new Set<string>(["get /api/chat"]); // its heading names the path alone
  for (const [, method, path] of text.matchAll(/`(GET|POST|PATCH|PUT|DELETE|WS) (\/[^`\s?]*)/g)) {
    const openApiPath = path.replace(/:([a-z_]+)/g, "{$1}");
    found.add(`${method === "WS" ? "get" : method.toLowerCase()} ${openApiPath}`);
  }
  return [...found].sort();
}

Deno.test("the OpenAPI document is valid OpenAPI 3.1", async () => {
  const result = await new Validator().validate(structuredClone(openApiDocument()));
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.equal(openApiDocument().openapi, "3.1.0");
});

Deno.test("every HTTP route of the contract is in the document", async () => {
  const routes = await contractRoutes();
  assert.ok(routes.length >= 20, `only ${routes.length} routes found in the contract`);
  const paths = openApiDocument().paths as Record<string, Record<string, unknown>>;
  const missing = routes.filter((r) => {
    const [method, path] = r.split(" ");
    return !paths[path]?.[method];
  });
  assert.deepEqual(missing, []);
});

Deno.test("every route the app serves is in the document (but the page and its files)", () => {
  const app = createApp(createDeps(loadConfig({}), { url: "http://127.0.0.1:9", token: "t" }));
  const paths = openApiDocument().paths as Record<string, Record<string, unknown>>;
  const undocumented = app.routes
    .filter((r) => r.method !== "ALL" && !/^\/(static\/\*|docs\/assets\/:file)?$/.test(r.path))
    .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([a-z_]+)/g, "{$1}")}`)
    .filter((r) => {
      const [method, path] = r.split(" ");
      return !paths[path]?.[method];
    });
  assert.deepEqual(undocumented, []);
});

Deno.test("the WebSocket's frames are components, taken from the zod schemas", () => {
  const doc = openApiDocument() as {
    components: { schemas: Record<string, { oneOf?: { properties: { type: unknown } }[] }> };
  };
  const types = (name: string) =>
    doc.components.schemas[name].oneOf!.map((s) => JSON.stringify(s.properties.type));
  assert.ok(types("ClientFrame").some((t) => t.includes('"message"')));
  assert.ok(types("ServerFrame").some((t) => t.includes('"delta"')));
  assert.ok(doc.components.schemas.Message);
});

Deno.test("/openapi.json, /docs and its assets, the probes and /metrics are served", async () => {
  // Nothing listens on port 9: every Redis call fails fast.
  const deps = createDeps(loadConfig({}), { url: "http://127.0.0.1:9", token: "t" });
  const app = createApp(deps);
  try {
    const get = (path: string) => app.request(path);
    const spec = await get("/openapi.json");
    assert.equal(spec.status, 200);
    assert.equal((await spec.json()).openapi, "3.1.0");

    const docs = await get("/docs");
    assert.equal(docs.status, 200);
    const html = await docs.text();
    assert.match(html, /\/docs\/assets\/swagger-ui-bundle\.js/);
    assert.doesNotMatch(html, /https?:\/\//, "the page loads nothing from another origin");
    const csp = docs.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'(;|$)/);
    for (const asset of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
      const res = await get(`/docs/assets/${asset}`);
      assert.equal(res.status, 200, asset);
      assert.ok((await res.arrayBuffer()).byteLength > 10_000, asset);
    }
    assert.equal((await get("/docs/assets/package.json")).status, 404);

    const live = await get("/api/health/live");
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: "ok" });
    const ready = await get("/api/health/ready");
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: "unavailable", redis: "unreachable" });

    const metrics = await (await get("/metrics")).text();
    assert.match(metrics, /chat_http_requests_total\{method="GET",route="\/api\/health\/live"/);
    assert.match(metrics, /chat_redis_errors_total\{command="ping"\} [1-9]/);
    assert.match(metrics, /# TYPE chat_turn_first_delta_seconds histogram/);
  } finally {
    deps.relay.close();
  }
});

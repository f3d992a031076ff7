// GET /openapi.json (generated from the contract's zod schemas) and GET /docs, an interactive
// reference (Swagger UI) served from this origin: its script and stylesheet come from the npm
// package swagger-ui-dist in node_modules, never from a CDN.
import type { Context } from "hono";
import { openApiDocument } from "../lib/server/openapi.ts";
import type { AppEnv } from "../lib/server/services.ts";
import { apiError } from "./_errors.ts";

const SWAGGER_DIR = new URL("../node_modules/swagger-ui-dist/", import.meta.url);
/** The only files of the package the page needs, with their types. */
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
};

export function openapi(c: Context<AppEnv>) {
  c.header("Access-Control-Allow-Origin", "*");
  return c.json(openApiDocument());
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat API reference</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="stylesheet" href="/static/docs/docs.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/docs/init.js"></script>
</body>
</html>
`;

export function page(c: Context<AppEnv>) {
  c.header("Cache-Control", "no-cache");
  return c.html(PAGE);
}

export async function asset(c: Context<AppEnv>) {
  const file = c.req.param("file") ?? "";
  const type = ASSETS[file];
  if (!type) return apiError(c, 404, "not_found", `Nothing at ${c.req.path}.`);
  try {
    const body = await Deno.readFile(new URL(file, SWAGGER_DIR));
    return c.body(body, 200, {
      "content-type": type,
      // The package version is pinned in deno.json: a day of caching is safe.
      "cache-control": "public, max-age=86400",
    });
  } catch {
    return apiError(c, 503, "docs_unavailable", "Run `deno install` to get swagger-ui-dist.");
  }
}

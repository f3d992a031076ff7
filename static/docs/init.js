// Starts Swagger UI on /docs with this server's /openapi.json. A file rather than an inline
// script, because the Content-Security-Policy allows scripts from this origin only.
globalThis.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // No calls to the public validator service: nothing leaves this origin.
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
  docExpansion: "list",
});

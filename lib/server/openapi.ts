// GET /openapi.json: the OpenAPI 3.1 document of every HTTP route of ../shared/contract.md, the
// seed's aliases and the WebSocket (its frames as components). Bodies and responses name the
// zod-generated components of openapi_schemas.ts; this file only says which route uses which.
import { MAX_BODY_BYTES } from "./limits.ts";
import { componentSchemas, ref } from "./openapi_schemas.ts";

type Json = Record<string, unknown>;

const json = (schema: Json) => ({ "application/json": { schema } });
const error = (description: string) => ({ description, content: json(ref("ApiError")) });

const SESSION_EXPIRED = error("`session_expired`: unknown or expired token.");
const NOT_FOUND = error("`conversation_not_found`: not one of this session's conversations.");
const AUTH = [{ bearer: [] }, { tokenQuery: [] }];
const ID = { name: "id", in: "path", required: true, schema: { type: "string" } };

const tokenOp = (summary: string): Json => ({
  summary,
  tags: ["sessions"],
  requestBody: {
    required: false,
    content: {
      ...json(ref("TokenRequest")),
      "application/x-www-form-urlencoded": { schema: ref("TokenRequest") },
    },
  },
  parameters: [{
    name: "name",
    in: "query",
    required: false,
    description: "The seed's way of sending the name.",
    schema: { type: "string" },
  }],
  responses: {
    201: { description: "A new session.", content: json(ref("SessionInfo")) },
    400: error("`invalid_name`: empty, blank or longer than 64 characters."),
    413: error(`\`payload_too_large\`: bodies are limited to ${MAX_BODY_BYTES} bytes.`),
    429: error("`rate_limited`: too many new sessions from this address; see Retry-After."),
  },
});

const refreshOp = (summary: string): Json => ({
  summary,
  tags: ["sessions"],
  security: AUTH,
  responses: {
    200: { description: "The session, TTL slid.", content: json(ref("SessionInfo")) },
    401: SESSION_EXPIRED,
  },
});

const historyOp = (summary: string): Json => ({
  summary,
  tags: ["sessions"],
  security: AUTH,
  responses: {
    200: { description: "The default conversation's messages.", content: json(ref("History")) },
    401: SESSION_EXPIRED,
  },
});

const healthOp = (summary: string): Json => ({
  summary,
  tags: ["operations"],
  responses: {
    200: { description: "Redis and a model are available.", content: json(ref("Health")) },
    503: { description: "`status: degraded` and what is down.", content: json(ref("Health")) },
  },
});

const WS_DESCRIPTION = [
  "Upgrade to a WebSocket (`Upgrade: websocket`). One JSON object per text frame each way:",
  "client frames are `ClientFrame` (message, stop, resume, regenerate, edit), server frames",
  "`ServerFrame` (ack, delta, done, error, user, conversation, conversation_deleted).",
  "An unknown, missing or expired token: the socket opens and is closed with code 1008.",
  "Frames over 64 KiB close it with 1009; a binary frame gets an `invalid_frame` error.",
].join(" ");

const chatOp = (summary: string): Json => ({
  summary,
  description: WS_DESCRIPTION,
  tags: ["chat"],
  parameters: [{ name: "token", in: "query", required: true, schema: { type: "string" } }],
  responses: {
    101: {
      description: "Switching Protocols: the chat socket. Its frames are described by the " +
        "`ClientFrame` and `ServerFrame` schemas.",
    },
    403: error("`forbidden_origin`: a browser page from another origin."),
    426: error("`upgrade_required`: this endpoint speaks WebSocket only."),
  },
  "x-websocket": { client: ref("ClientFrame"), server: ref("ServerFrame") },
});

const alias = (op: Json, of: string): Json => ({
  ...op,
  tags: ["seed aliases"],
  description: `The seed's path; answers like \`${of}\`.`,
});

const conversationsPaths: Json = {
  "/api/conversations": {
    get: {
      summary: "List the session's conversations",
      tags: ["conversations"],
      security: AUTH,
      responses: {
        200: {
          description: "Most recently updated first.",
          content: json(ref("ConversationList")),
        },
        401: SESSION_EXPIRED,
      },
    },
    post: {
      summary: "Create a conversation",
      tags: ["conversations"],
      security: AUTH,
      requestBody: { required: false, content: json(ref("CreateConversation")) },
      responses: {
        201: { description: "The new conversation.", content: json(ref("Conversation")) },
        401: SESSION_EXPIRED,
        409: error("`too_many_conversations`: the session holds MAX_CONVERSATIONS already."),
      },
    },
  },
  "/api/conversations/{id}": {
    parameters: [ID],
    get: {
      summary: "A conversation with its messages",
      tags: ["conversations"],
      security: AUTH,
      responses: {
        200: { description: "Oldest message first.", content: json(ref("ConversationDetail")) },
        401: SESSION_EXPIRED,
        404: NOT_FOUND,
      },
    },
    patch: {
      summary: "Rename a conversation",
      tags: ["conversations"],
      security: AUTH,
      requestBody: { required: true, content: json(ref("RenameConversation")) },
      responses: {
        200: { description: "The renamed conversation.", content: json(ref("Conversation")) },
        400: error("`invalid_title`: empty or longer than 120 characters after trimming."),
        401: SESSION_EXPIRED,
        404: NOT_FOUND,
      },
    },
    delete: {
      summary: "Delete a conversation",
      description: "A reply in progress there is stopped; its messages are gone.",
      tags: ["conversations"],
      security: AUTH,
      responses: { 204: { description: "Deleted." }, 401: SESSION_EXPIRED, 404: NOT_FOUND },
    },
  },
  "/api/conversations/{id}/export": {
    parameters: [ID],
    get: {
      summary: "Export a conversation",
      tags: ["conversations"],
      security: AUTH,
      parameters: [{
        name: "format",
        in: "query",
        required: false,
        schema: { type: "string", enum: ["md", "json"], default: "md" },
      }],
      responses: {
        200: {
          description: "Markdown (a download) or JSON.",
          content: {
            "text/markdown": { schema: { type: "string" } },
            ...json(ref("ConversationDetail")),
          },
        },
        401: SESSION_EXPIRED,
        404: NOT_FOUND,
      },
    },
  },
};

const operationsPaths: Json = {
  "/api/health": { get: healthOp("Redis and model status") },
  "/api/health/live": {
    get: {
      summary: "Liveness: the process serves requests (asks nothing of Redis)",
      tags: ["operations"],
      responses: { 200: { description: "Serving.", content: json(ref("Liveness")) } },
    },
  },
  "/api/health/ready": {
    get: {
      summary: "Readiness: Redis answers (workers are not required)",
      tags: ["operations"],
      responses: {
        200: { description: "Ready.", content: json(ref("Readiness")) },
        503: { description: "Redis does not answer.", content: json(ref("Readiness")) },
      },
    },
  },
  "/openapi.json": {
    get: {
      summary: "This document",
      tags: ["operations"],
      responses: { 200: { description: "OpenAPI 3.1.", content: json({ type: "object" }) } },
    },
  },
  "/docs": {
    get: {
      summary: "Interactive reference of this document",
      tags: ["operations"],
      responses: {
        200: { description: "An HTML page.", content: { "text/html": { schema: {} } } },
      },
    },
  },
  "/metrics": {
    get: {
      summary: "Prometheus metrics (names in the README)",
      tags: ["operations"],
      responses: {
        200: {
          description: "Prometheus text format 0.0.4.",
          content: { "text/plain": { schema: { type: "string" } } },
        },
      },
    },
  },
};

let cached: Json | null = null;

export function openApiDocument(): Json {
  cached ??= {
    openapi: "3.1.0",
    info: {
      title: "Chat API",
      version: "1.0.0",
      description: "Sessions, conversations, the chat WebSocket and operations endpoints. Every " +
        'error is JSON `{"error": {"code", "message"}}`; every response carries ' +
        "`x-request-id` (yours, when you send a sane one).",
    },
    tags: [
      { name: "sessions" },
      { name: "conversations" },
      { name: "chat" },
      { name: "operations" },
      { name: "seed aliases", description: "The seed's paths, kept for its clients." },
    ],
    paths: {
      "/api/token": { post: tokenOp("Start a session") },
      "/api/refresh_token": { get: refreshOp("Slide the session's TTL") },
      "/api/history": { get: historyOp("The default conversation") },
      ...conversationsPaths,
      "/api/chat": { get: chatOp("The chat WebSocket") },
      ...operationsPaths,
      "/test": { get: alias(healthOp("Health (seed)"), "GET /api/health") },
      "/token": { post: alias(tokenOp("Start a session (seed)"), "POST /api/token") },
      "/chat_history": { get: alias(historyOp("History (seed)"), "GET /api/history") },
      "/refresh_token": {
        get: alias(refreshOp("Slide the TTL (seed)"), "GET /api/refresh_token"),
      },
      "/chat": { get: alias(chatOp("The chat WebSocket (seed)"), "WS /api/chat") },
    },
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "The session token." },
        tokenQuery: { type: "apiKey", in: "query", name: "token" },
      },
    },
  };
  return cached;
}

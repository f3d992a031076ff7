// The contract's zod schemas as OpenAPI components: the same objects that validate requests,
// frames and responses (lib/contract/), converted once with zod's JSON Schema generator, so the
// reference can never drift from what the server checks.
import * as z from "zod/mini";
import * as frames from "../contract/frames.ts";
import * as payloads from "../contract/payloads.ts";

type Meta = { id: string; description?: string };

/** Component name → schema and what a reader should know about it. */
const COMPONENTS: [z.core.$ZodType, Meta][] = [
  [payloads.ApiError, {
    id: "ApiError",
    description: "Every HTTP error. `code` is snake_case (e.g. invalid_name, session_expired).",
  }],
  [payloads.TokenRequest, {
    id: "TokenRequest",
    description: "1–64 characters after trimming; also accepted as a form field or `?name=`.",
  }],
  [payloads.SessionInfo, {
    id: "SessionInfo",
    description: "A session; the token is its identity.",
  }],
  [frames.Message, {
    id: "Message",
    description: "`timestamp` is ISO 8601 UTC. `stopped`: a reply the user stopped; `error`: a " +
      "user message whose turn failed (until it is retried).",
  }],
  [payloads.History, { id: "History", description: "The default conversation of the session." }],
  [frames.Conversation, {
    id: "Conversation",
    description:
      "`title` is empty until the first user message (its first line, ≤ 60 characters) " +
      "or a rename.",
  }],
  [payloads.ConversationList, {
    id: "ConversationList",
    description: "Most recently updated first.",
  }],
  [payloads.ConversationDetail, { id: "ConversationDetail" }],
  [payloads.CreateConversation, { id: "CreateConversation" }],
  [payloads.RenameConversation, {
    id: "RenameConversation",
    description: "1–120 characters after trimming.",
  }],
  [payloads.Health, {
    id: "Health",
    description: "`model` is `<provider>/<model>`; `detail` says what is down and how to fix it.",
  }],
  [payloads.Liveness, { id: "Liveness" }],
  [payloads.Readiness, { id: "Readiness" }],
  [frames.ClientFrame, {
    id: "ClientFrame",
    description:
      "One JSON object per text frame, client to server. A plain (non-JSON) text frame " +
      "is a `message` to the default conversation. `conversation` absent: the default one.",
  }],
  [frames.ServerFrame, {
    id: "ServerFrame",
    description: "One JSON object per text frame, server to client. Reply events carry an " +
      "`event` id usable for `resume`.",
  }],
];

/** The `components.schemas` of the OpenAPI document (JSON Schema 2020-12, as OpenAPI 3.1 uses). */
export function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<Meta>();
  for (const [schema, meta] of COMPONENTS) registry.add(schema, meta);
  // "input": what a sender may send. Objects stay open: the contract lets fields be added.
  const { schemas } = z.toJSONSchema(registry, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _dialect, $id: _id, ...rest } = schema as Record<string, unknown>;
      return [id, rest];
    }),
  );
}

/** A `$ref` to one of the components above. */
export const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

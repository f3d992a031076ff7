// Local stand-ins for the remote model services, speaking their real wire protocols: OpenAI chat
// completions (SSE), text-generation-inference (TGI) and the classic Hugging Face Inference API.
// Each binds 127.0.0.1 on a free port; tests and benchmarks point the providers at `url`.

export interface RecordedRequest {
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

export interface ModelServer {
  /** OpenAI: the base URL with `/v1` (for OPENAI_BASE_URL); TGI/HF: the endpoint for HF_API_URL. */
  url: string;
  /** Every request received, in order (GETs included). */
  requests: RecordedRequest[];
  /** Answers the client cut off before they were complete (it closed the connection). */
  aborted: number;
  /** Answers sent in full. */
  completed: number;
  close(): Promise<void>;
}

export interface OpenAIRequestBody {
  model?: string;
  messages: Array<{ role: string; content: string }>;
  stream?: boolean;
  max_tokens?: number;
  [key: string]: unknown;
}

export interface TextGenerationBody {
  inputs: string;
  parameters?: {
    max_new_tokens?: number;
    return_full_text?: boolean;
    stop?: string[];
    [key: string]: unknown;
  };
  options?: Record<string, unknown>;
  [key: string]: unknown;
}

interface CommonOptions {
  /** Before the first piece (TGI/OpenAI) or before answering at all (legacy HF). */
  firstTokenDelayMs?: number;
  /** Between pieces of a stream. */
  tokenDelayMs?: number;
  /** Characters per streamed piece; the default is one word (with its leading space) per piece. */
  chunkChars?: number;
  /** Answer every generation request with this status and `errorBody` (as JSON). */
  status?: number;
  errorBody?: unknown;
  /**
   * "headers": never answer; "body": send the stream's headers, then nothing. Either way the
   * request hangs until the client gives up or the server closes (for timeout tests).
   */
  hang?: "headers" | "body";
}

export interface OpenAIServerOptions extends CommonOptions {
  /** The reply; "" answers a well-formed stream with no content. Default: echoReply(last user text). */
  reply?: string | ((body: OpenAIRequestBody) => string);
  /** The model GET /v1/models lists. */
  model?: string;
}

export interface TGIServerOptions extends CommonOptions {
  /** What the model "generates" after the prompt. Default: echoReply(last `Human:` line). */
  reply?: string | ((body: TextGenerationBody) => string);
  /** Keep generating past the request's stop sequences, as a misconfigured server would. */
  ignoreStop?: boolean;
}

export interface LegacyHFServerOptions extends TGIServerOptions {
  /** Answer 503 "Model … is currently loading" (even with wait_for_model, as on a cold start timeout). */
  loading?: boolean;
  /** Also answer at /models/<modelId>, and make `url` that model URL. */
  modelId?: string;
}

/** The deterministic default reply to a user turn. */
export function echoReply(userText: string): string {
  return `You said: ${userText}`;
}

/** The last human line of a `Human:`/`Bot:` prompt. */
export function lastHumanLine(prompt: string): string {
  const lines = [...prompt.matchAll(/^Human: ?(.*)$/gm)];
  return lines.length ? lines[lines.length - 1][1] : prompt.trim();
}

/** `text` as a model would stream it: one word per piece, or fixed-size pieces. */
export function splitReply(text: string, chunkChars?: number): string[] {
  if (chunkChars && chunkChars > 0) {
    const pieces: string[] = [];
    for (let i = 0; i < text.length; i += chunkChars) pieces.push(text.slice(i, i + chunkChars));
    return pieces;
  }
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

export function startOpenAIServer(opts: OpenAIServerOptions = {}): Promise<ModelServer> {
  const model = opts.model ?? "test-model";
  return startServer("/v1", async (req, path, body, state) => {
    if (req.method === "GET" && path === "/v1/models") {
      return json({
        object: "list",
        data: [{ id: model, object: "model", created: 1700000000, owned_by: "local" }],
      });
    }
    if (req.method !== "POST" || !path.endsWith("/chat/completions")) {
      return json({
        error: { message: `Unknown route ${req.method} ${path}`, type: "invalid_request_error" },
      }, 404);
    }
    if (opts.status && opts.status >= 300) {
      return json(
        opts.errorBody ?? {
          error: { message: "Simulated failure", type: "server_error", param: null, code: null },
        },
        opts.status,
      );
    }
    const request = body as OpenAIRequestBody;
    if (opts.hang === "headers") return await state.hang(req);
    const text = typeof opts.reply === "function"
      ? opts.reply(request)
      : opts.reply ?? echoReply(lastUserContent(request));
    let pieces = splitReply(text, opts.chunkChars);
    let finish = "stop";
    if (request.max_tokens && pieces.length > request.max_tokens) {
      pieces = pieces.slice(0, request.max_tokens);
      finish = "length";
    }
    const id = `chatcmpl-${crypto.randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const modelName = request.model ?? model;
    if (request.stream !== true) {
      return json({
        id,
        object: "chat.completion",
        created,
        model: modelName,
        choices: [{
          index: 0,
          message: { role: "assistant", content: pieces.join("") },
          finish_reason: finish,
        }],
        usage: { prompt_tokens: 0, completion_tokens: pieces.length, total_tokens: pieces.length },
      });
    }
    const chunk = (delta: Record<string, string>, finishReason: string | null) =>
      `data: ${
        JSON.stringify({
          id,
          object: "chat.completion.chunk",
          created,
          model: modelName,
          system_fingerprint: null,
          choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        })
      }\n\n`;
    if (opts.hang === "body") return state.stream([], opts, true);
    return state.stream([
      chunk({ role: "assistant", content: "" }, null),
      ...pieces.map((piece) => chunk({ content: piece }, null)),
      chunk({}, finish),
      "data: [DONE]\n\n",
    ], opts);
  });
}

export function startTGIServer(opts: TGIServerOptions = {}): Promise<ModelServer> {
  return startServer("", async (req, path, body, state) => {
    if (req.method === "GET" && path === "/info") {
      return json({
        model_id: "EleutherAI/gpt-j-6b",
        model_dtype: "torch.float16",
        max_input_tokens: 1024,
      });
    }
    const routes = ["/generate_stream", "/generate", "/"];
    if (req.method !== "POST" || !routes.includes(path)) {
      return json({ error: "Not Found", error_type: "not_found" }, 404);
    }
    if (opts.status && opts.status >= 300) {
      return json(
        opts.errorBody ?? { error: "Simulated failure", error_type: "generation" },
        opts.status,
      );
    }
    const request = body as TextGenerationBody;
    if (opts.hang === "headers") return await state.hang(req);
    const generation = generate(request, opts);
    if (path === "/generate_stream") {
      if (opts.hang === "body") return state.stream([], opts, true);
      return state.stream(tgiEvents(request, generation), opts);
    }
    if (opts.firstTokenDelayMs && !(await state.wait(req, opts.firstTokenDelayMs))) {
      return new Response(null, { status: 499 });
    }
    state.completed++;
    const generated_text = fullText(request, generation.tokens.join(""));
    return json(path === "/generate" ? { generated_text } : [{ generated_text }]);
  });
}

export function startLegacyHFServer(opts: LegacyHFServerOptions = {}): Promise<ModelServer> {
  const modelPath = opts.modelId ? `/models/${opts.modelId}` : undefined;
  const modelName = opts.modelId ?? "EleutherAI/gpt-j-6b";
  return startServer(modelPath ?? "", async (req, path, body, state) => {
    // The classic API knows nothing of TGI's routes: /generate_stream is a 404 here.
    if (req.method !== "POST" || (path !== "/" && path !== modelPath)) {
      return new Response("Not Found", { status: 404 });
    }
    if (opts.loading) {
      return json({ error: `Model ${modelName} is currently loading`, estimated_time: 20.0 }, 503);
    }
    if (opts.status && opts.status >= 300) {
      return json(opts.errorBody ?? { error: "Simulated failure" }, opts.status);
    }
    const request = body as TextGenerationBody;
    if (typeof request?.inputs !== "string") return json({ error: "inputs must be a string" }, 400);
    if (opts.hang) return await state.hang(req);
    if (opts.firstTokenDelayMs && !(await state.wait(req, opts.firstTokenDelayMs))) {
      return new Response(null, { status: 499 });
    }
    state.completed++;
    const generation = generate(request, opts);
    return json([{ generated_text: fullText(request, generation.tokens.join("")) }]);
  });
}

// ---- the simulated model ----

interface Generation {
  tokens: string[];
  finish: "eos_token" | "stop_sequence" | "length";
}

/** The reply split into tokens, ended the way TGI ends it: EOS, a stop sequence or the token limit. */
function generate(request: TextGenerationBody, opts: TGIServerOptions): Generation {
  const text = typeof opts.reply === "function"
    ? opts.reply(request)
    : opts.reply ?? echoReply(lastHumanLine(request?.inputs ?? ""));
  const all = splitReply(text, opts.chunkChars);
  const stops = opts.ignoreStop ? [] : request?.parameters?.stop ?? [];
  const limit = request?.parameters?.max_new_tokens ?? Infinity;
  const tokens: string[] = [];
  let sofar = "";
  for (const token of all) {
    if (tokens.length >= limit) return { tokens, finish: "length" };
    tokens.push(token);
    sofar += token;
    // Like TGI, the token that completes a stop sequence is still sent.
    if (stops.some((stop) => stop && sofar.includes(stop))) {
      return { tokens, finish: "stop_sequence" };
    }
  }
  return { tokens, finish: "eos_token" };
}

function fullText(request: TextGenerationBody, generated: string): string {
  // TGI and the Inference API both default return_full_text to true for text generation.
  return request?.parameters?.return_full_text === false ? generated : request.inputs + generated;
}

function tgiEvents(request: TextGenerationBody, { tokens, finish }: Generation): string[] {
  const event = (index: number, text: string, special: boolean, final: boolean) =>
    `data:${
      JSON.stringify({
        index,
        token: { id: 1000 + index, text, logprob: -0.1, special },
        generated_text: final ? fullText(request, tokens.join("")) : null,
        details: final
          ? { finish_reason: finish, generated_tokens: tokens.length, seed: null }
          : null,
      })
    }\n\n`;
  const events = tokens.map((t, i) =>
    event(i + 1, t, false, finish !== "eos_token" && i === tokens.length - 1)
  );
  if (finish === "eos_token") events.push(event(tokens.length + 1, "<|endoftext|>", true, true));
  return events;
}

function lastUserContent(body: OpenAIRequestBody): string {
  const users = (body?.messages ?? []).filter((m) => m.role === "user");
  return users.length ? users[users.length - 1].content : "";
}

// ---- the HTTP scaffolding ----

interface ServerState {
  /** Streams `chunks` as an SSE body with the configured delays; `hold` keeps it open after them. */
  stream(chunks: string[], opts: CommonOptions, hold?: boolean): Response;
  /** Never answers; resolves once the client disconnects or the server closes. */
  hang(req: Request): Promise<Response>;
  /** Waits `ms`; false if the client disconnected meanwhile (counted as aborted). */
  wait(req: Request, ms: number): Promise<boolean>;
  completed: number;
}

type Handler = (
  req: Request,
  path: string,
  body: unknown,
  state: ServerState,
) => Promise<Response>;

function startServer(urlPath: string, handler: Handler): Promise<ModelServer> {
  const closing = new AbortController();
  const encoder = new TextEncoder();
  const recorded: RecordedRequest[] = [];
  const counts = { aborted: 0, completed: 0 };

  // Until the client disconnects, the server closes, or `ms` passes: true if the client is still there.
  const waitFor = (req: Request, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const finish = (stillThere: boolean) => {
        clearTimeout(timer);
        req.signal.removeEventListener("abort", onGone);
        closing.signal.removeEventListener("abort", onClose);
        resolve(stillThere);
      };
      const onGone = () => {
        counts.aborted++;
        finish(false);
      };
      const onClose = () => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      req.signal.addEventListener("abort", onGone, { once: true });
      closing.signal.addEventListener("abort", onClose, { once: true });
    });

  const state: ServerState = {
    get completed() {
      return counts.completed;
    },
    set completed(n: number) {
      counts.completed = n;
    },
    wait: waitFor,
    async hang(req) {
      await waitFor(req, 2 ** 31 - 1);
      return new Response(null, { status: 499 });
    },
    stream(chunks, opts, hold = false) {
      const stop = new AbortController();
      const onClose = () => stop.abort();
      closing.signal.addEventListener("abort", onClose, { once: true });
      let index = 0;
      const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
        closing.signal.removeEventListener("abort", onClose);
        try {
          controller.close();
        } catch { /* already closed */ }
      };
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (index >= chunks.length) {
            if (hold) await sleep(2 ** 31 - 1, stop.signal);
            else counts.completed++;
            finish(controller);
            return;
          }
          const delay = index === 0 ? opts.firstTokenDelayMs : opts.tokenDelayMs;
          if (delay) await sleep(delay, stop.signal);
          if (stop.signal.aborted) return finish(controller);
          controller.enqueue(encoder.encode(chunks[index++]));
        },
        cancel() {
          // The client closed the connection mid-answer: stop "generating".
          if (!closing.signal.aborted) counts.aborted++;
          closing.signal.removeEventListener("abort", onClose);
          stop.abort();
        },
      });
      return new Response(body, {
        headers: {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
          "x-accel-buffering": "no",
        },
      });
    },
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const text = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch { /* recorded as text */ }
    recorded.push({ path, body, headers: Object.fromEntries(req.headers) });
    if (body === undefined && req.method === "POST") return json({ error: "empty body" }, 400);
    return await handler(req, path, body, state);
  });

  return Promise.resolve({
    url: `http://127.0.0.1:${server.addr.port}${urlPath}`,
    requests: recorded,
    get aborted() {
      return counts.aborted;
    },
    get completed() {
      return counts.completed;
    },
    async close() {
      closing.abort();
      await server.shutdown();
    },
  });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

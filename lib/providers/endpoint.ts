// What the remote providers check before their first call: configuration that can never work, then
// a cheap request that shows whether the server is there and takes the key.
import type { Config } from "../config.ts";
import { errorMessageOf } from "./sse.ts";
import { ModelUnavailableError } from "./types.ts";

/** The longest a readiness probe waits: the worker re-probes every few seconds while not ready. */
export const PROBE_TIMEOUT_MS = 5000;

/** The probe never waits longer than a turn would for the server's first sign of life. */
export function probeTimeout(config: Config): number {
  return Math.min(PROBE_TIMEOUT_MS, config.MODEL_TIMEOUT_MS);
}

/**
 * Resolves when `url` is an http(s) URL and, for the hosted service at `hostedSuffix`, a key is
 * set; otherwise rejects with ModelUnavailableError naming the variable to fix. No network call.
 */
export function endpointReady(
  url: string,
  urlVariable: string,
  hosted: { suffix: string; key: string | undefined; keyVariable: string },
): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(new ModelUnavailableError(`${urlVariable} is not a URL: ${url}`));
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return Promise.reject(new ModelUnavailableError(`${urlVariable} must be http(s): ${url}`));
  }
  if (parsed.hostname.endsWith(hosted.suffix) && !hosted.key) {
    return Promise.reject(new ModelUnavailableError(`${hosted.keyVariable} is not set`));
  }
  return Promise.resolve();
}

export interface Probe {
  /** The URL to GET: an OpenAI-compatible `/models`, TGI's `/health`. */
  url: string;
  /** "the model server at http://…", as the provider names it in every error. */
  label: string;
  /** The variable that sets the address, for the operator to check. */
  urlVariable: string;
  /** The configured key (sent as a bearer token) and the variable it comes from. */
  key: string | undefined;
  keyVariable: string;
  timeoutMs?: number;
}

/**
 * GETs `probe.url` and judges only what makes every turn fail: no answer at all (connection
 * refused, unknown host, TLS failure, silence) and a rejected key (401/403) reject with a
 * ModelUnavailableError saying what to fix. Any other status means a server is there: many
 * OpenAI-compatible servers have no /models (404, 405), and one that errors now may not later.
 */
export async function probeEndpoint(
  probe: Probe,
  fetchImpl: typeof fetch = fetch,
): Promise<void> {
  const timeoutMs = probe.timeoutMs ?? PROBE_TIMEOUT_MS;
  const headers: Record<string, string> = { accept: "application/json" };
  if (probe.key) headers.authorization = `Bearer ${probe.key}`;
  let response: Response;
  try {
    response = await fetchImpl(probe.url, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const reason = isTimeout(err) ? `no answer within ${timeoutMs} ms` : unreachableReason(err);
    throw new ModelUnavailableError(
      `cannot reach ${probe.label} (${reason}); is it running, and is ${probe.urlVariable} right?`,
      { cause: err },
    );
  }
  if (response.status === 401 || response.status === 403) {
    const message = await errorMessageOf(response).catch(() => response.statusText);
    throw new ModelUnavailableError(
      probe.key
        ? `${probe.label} rejected the API key (${probe.keyVariable}): ${response.status} ${message}`
        : `${probe.label} requires an API key: set ${probe.keyVariable} (${response.status} ${message})`,
    );
  }
  await response.body?.cancel().catch(() => {});
}

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && err.name === "TimeoutError";
}

/**
 * A short reason why a request never got an answer, from fetch's error (Deno puts the transport
 * error in `cause`): "connection refused", "unknown host", … so an operator knows what to fix.
 */
export function unreachableReason(err: unknown): string {
  const texts: string[] = [];
  for (let e: unknown = err; e instanceof Error && texts.length < 4; e = e.cause) {
    texts.push(e.message);
  }
  const text = texts.join(": ") || String(err);
  if (/connection refused/i.test(text)) return "connection refused";
  if (/dns error|failed to lookup|name or service not known|nodename nor servname/i.test(text)) {
    return "unknown host";
  }
  if (/connection reset/i.test(text)) return "connection reset";
  if (/timed out/i.test(text)) return "connection timed out";
  if (/certificate|tls|ssl/i.test(text)) return `TLS failed: ${texts[texts.length - 1]}`;
  return texts[texts.length - 1] ?? text;
}

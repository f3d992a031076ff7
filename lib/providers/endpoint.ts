// Configuration checks both remote providers make before their first call.
import { ModelUnavailableError } from "./types.ts";

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

// `deno task model`: downloads the default local model from Hugging Face, with a progress bar,
// resuming an interrupted download from its `.part` file and verifying the SHA-256.
//
//   deno task model [--url URL] [--out FILE] [--sha256 HEX] [--no-verify] [--force]
//
// The expected checksum is --sha256 or MODEL_SHA256 if given, otherwise the one Hugging Face
// publishes for LFS files (the `X-Linked-Etag` header of the resolve URL is the file's SHA-256).
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_MODEL_FILE } from "../lib/config.ts";
import { formatMb, progressBar } from "./progress_bar.ts";

export const DEFAULT_MODEL_URL =
  "https://huggingface.co/bartowski/SmolLM2-360M-Instruct-GGUF/resolve/main/SmolLM2-360M-Instruct-Q8_0.gguf";

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Expected SHA-256 (hex); when absent the server's LFS checksum header is used. */
  sha256?: string;
  /** Keep a file whose checksum nobody published. Off by default: unverified files are refused. */
  allowUnverified?: boolean;
  fetchImpl?: typeof fetch;
  onProgress?: (received: number, total: number | undefined) => void;
  /** Resume attempts within this call after the connection drops (default 5). */
  retries?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Bytes that were already in the `.part` file when this call started. */
  resumedFrom: number;
}

export class ChecksumMismatchError extends Error {
  override name = "ChecksumMismatchError";
}

/** An answer that retrying cannot change (404, 401, no checksum...). */
class FatalDownloadError extends Error {
  override name = "FatalDownloadError";
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The SHA-256 in an ETag-like header value, if it is one: `"abc…"`, `W/"abc…"` or bare. */
export function sha256FromEtag(value: string | null): string | undefined {
  const hex = value?.trim().replace(/^W\//, "").replace(/^"|"$/g, "").toLowerCase();
  return hex && HEX64.test(hex) ? hex : undefined;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Asks the resolve URL itself (not the CDN it redirects to) for the file's checksum and size:
 * Hugging Face answers with `X-Linked-Etag` / `X-Linked-Size` on the redirect.
 */
async function probe(url: string, fetchImpl: typeof fetch, signal?: AbortSignal) {
  try {
    const response = await fetchImpl(url, { method: "HEAD", redirect: "manual", signal });
    await response.body?.cancel();
    if (response.status === 404 || response.status === 401 || response.status === 403) {
      throw new FatalDownloadError(`${url} answered HTTP ${response.status}`);
    }
    const linkedSize = Number(response.headers.get("x-linked-size"));
    return {
      sha256: sha256FromEtag(response.headers.get("x-linked-etag")) ??
        (response.ok ? sha256FromEtag(response.headers.get("etag")) : undefined),
      size: linkedSize > 0 ? linkedSize : undefined,
    };
  } catch (error) {
    if (error instanceof FatalDownloadError || signal?.aborted) throw error;
    // No answer at all (offline, DNS, refused): asking for a checksum would send a newcomer the
    // wrong way; say what happened instead.
    if (error instanceof TypeError) throw new FatalDownloadError(unreachable(url, error));
    return {}; // The GET will tell.
  }
}

/** The message for a host that cannot be reached at all. */
function unreachable(url: string, error: Error): string {
  const host = new URL(url).host;
  return `cannot reach ${host}: the network is unreachable from here (${error.message}). ` +
    "Check the connection (or HTTPS_PROXY) and run the command again; a partial download resumes.";
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array) {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/** Fetches the rest of `url` into `part`; returns the total size once the file is complete. */
async function fetchRest(
  options: DownloadOptions,
  part: string,
  knownTotal: number | undefined,
): Promise<number> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const have = await sizeOf(part);
  if (knownTotal !== undefined && have === knownTotal) return have;
  const response = await fetchImpl(options.url, {
    headers: have > 0 ? { Range: `bytes=${have}-` } : {},
    signal: options.signal,
  });
  if (response.status === 416 && have > 0) {
    // Nothing left to send: the part file is already whole (the checksum will tell).
    await response.body?.cancel();
    return have;
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    const message = `${options.url} answered HTTP ${response.status}`;
    throw response.status >= 400 && response.status < 500 && response.status !== 408 &&
        response.status !== 429
      ? new FatalDownloadError(message)
      : new Error(message);
  }
  let offset = 0;
  let total: number | undefined;
  if (response.status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
    if (!range || Number(range[1]) !== have) {
      await response.body.cancel();
      throw new Error(`unexpected Content-Range ${response.headers.get("content-range")}`);
    }
    offset = have;
    total = range[3] === "*" ? undefined : Number(range[3]);
  } else {
    // A plain 200: the server ignored the range, so start the file again.
    const length = Number(response.headers.get("content-length"));
    total = length > 0 ? length : undefined;
  }
  total ??= knownTotal;
  let received = offset;
  options.onProgress?.(received, total);
  {
    using file = await Deno.open(part, {
      write: true,
      create: true,
      append: offset > 0,
      truncate: offset === 0,
    });
    for await (const chunk of response.body) {
      await writeAll(file, chunk);
      received += chunk.length;
      options.onProgress?.(received, total);
    }
  }
  if (total !== undefined && received !== total) {
    throw new Error(`the connection ended after ${received} of ${total} bytes`);
  }
  return received;
}

/**
 * Downloads `url` to `dest` through `dest + ".part"`, resuming from the part file left by an
 * earlier attempt, and renames it into place only once its SHA-256 matches.
 */
export async function downloadModel(options: DownloadOptions): Promise<DownloadResult> {
  const { dest, retries = 5, retryDelayMs = 1000 } = options;
  const part = `${dest}.part`;
  await Deno.mkdir(dirname(dest) || ".", { recursive: true });
  const explicit = options.sha256?.trim().toLowerCase();
  if (explicit !== undefined && !HEX64.test(explicit)) {
    throw new FatalDownloadError(`not a SHA-256 (64 hex digits): ${options.sha256}`);
  }
  const probed = await probe(options.url, options.fetchImpl ?? fetch, options.signal);
  const expected = explicit ?? probed.sha256;
  if (!expected && !options.allowUnverified) {
    throw new FatalDownloadError(
      `no checksum is published for ${options.url}; pass --sha256 <hex> (or --no-verify to accept ` +
        "an unverified file)",
    );
  }
  const resumedFrom = await sizeOf(part);
  let bytes = 0;
  for (let attempt = 0;; attempt++) {
    try {
      bytes = await fetchRest(options, part, probed.size);
      break;
    } catch (error) {
      if (error instanceof FatalDownloadError || options.signal?.aborted || attempt >= retries) {
        if (error instanceof FatalDownloadError) throw error;
        // Never connected (a cut body is "interrupted" instead, and resumes).
        if (
          error instanceof TypeError &&
          /error sending request|\(connect\)|dns error/i.test(error.message)
        ) {
          throw new Error(unreachable(options.url, error));
        }
        const have = await sizeOf(part);
        throw new Error(
          `Download interrupted (${
            (error as Error).message
          }); ${have} bytes are kept in ${part}, ` +
            "run the command again to resume.",
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs * (attempt + 1)));
    }
  }
  const actual = await sha256File(part);
  if (expected && actual !== expected) {
    await Deno.remove(part);
    throw new ChecksumMismatchError(
      `Checksum mismatch for ${options.url}: expected SHA-256 ${expected}, got ${actual}. ` +
        "The download was deleted; run the command again.",
    );
  }
  await Deno.rename(part, dest);
  return { path: dest, bytes, sha256: actual, resumedFrom };
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      url: { type: "string", default: DEFAULT_MODEL_URL },
      out: { type: "string", default: DEFAULT_MODEL_FILE },
      sha256: { type: "string", default: Deno.env.get("MODEL_SHA256") || undefined },
      "no-verify": { type: "boolean", default: false },
      force: { type: "boolean", default: false },
    },
  });
  const dest = values.out;
  if (!values.force && await sizeOf(dest) > 0) {
    console.log(`${dest} is already there (use --force to download it again).`);
    return;
  }
  const bar = progressBar();
  const resumable = await sizeOf(`${dest}.part`);
  console.log(
    `Downloading ${values.url}\n  to ${dest}${
      resumable ? ` (resuming at ${formatMb(resumable)} MB)` : ""
    }`,
  );
  try {
    const result = await downloadModel({
      url: values.url,
      dest,
      sha256: values.sha256,
      allowUnverified: values["no-verify"],
      onProgress: bar.update,
    });
    bar.done();
    console.log(`Saved ${dest} (${formatMb(result.bytes)} MB, SHA-256 ${result.sha256}).`);
  } catch (error) {
    bar.done();
    console.error(`Model download failed: ${(error as Error).message}`);
    Deno.exit(1);
  }
}

if (import.meta.main) await main();

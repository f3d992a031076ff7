// `deno task model` against a local stand-in for Hugging Face: a resolve URL that redirects to a
// "CDN" path with Range support and publishes the SHA-256 in X-Linked-Etag, as huggingface.co does.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { freePort } from "../dev/redis_server.ts";
import { ChecksumMismatchError, downloadModel, sha256FromEtag } from "../tasks/model.ts";

const SIZE = 3 * 1024 * 1024 + 123;

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

interface ServerOptions {
  /** Cut the connection after this many body bytes, on the first GET only. */
  cutAt?: number;
  /** Published checksum; default the file's own. `null` publishes none. */
  etag?: string | null;
  ignoreRange?: boolean;
}

function startServer(file: Uint8Array<ArrayBuffer>, options: ServerOptions = {}) {
  const gets: { range: string | null }[] = [];
  const etag = options.etag === undefined ? sha256(file) : options.etag;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/repo/resolve/main/model.gguf") {
      const headers = new Headers({
        location: "/cdn/model.gguf",
        "x-linked-size": String(file.length),
      });
      if (etag !== null) headers.set("x-linked-etag", `"${etag}"`);
      return new Response(null, { status: 302, headers });
    }
    if (path !== "/cdn/model.gguf") return new Response("not found", { status: 404 });
    const range = request.headers.get("range");
    gets.push({ range });
    const match = /^bytes=(\d+)-$/.exec(range ?? "");
    const start = match && !options.ignoreRange ? Number(match[1]) : 0;
    const body = file.subarray(start);
    const headers = new Headers({
      "content-length": String(body.length),
      "accept-ranges": "bytes",
    });
    if (start > 0) headers.set("content-range", `bytes ${start}-${file.length - 1}/${file.length}`);
    const status = start > 0 ? 206 : 200;
    if (options.cutAt !== undefined && gets.length === 1) {
      const cutAt = options.cutAt;
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent < cutAt) {
            const end = Math.min(sent + 64 * 1024, cutAt);
            controller.enqueue(body.slice(sent, end));
            sent = end;
            return;
          }
          // Ending short of Content-Length makes the server drop the connection mid-body.
          await new Promise((resolve) => setTimeout(resolve, 20));
          controller.close();
        },
      });
      return new Response(stream, { status, headers });
    }
    return new Response(body, { status, headers });
  });
  const url = `http://127.0.0.1:${server.addr.port}/repo/resolve/main/model.gguf`;
  return { url, gets, close: () => server.shutdown() };
}

async function exists(path: string) {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function progressRecorder() {
  const values: { received: number; total: number | undefined }[] = [];
  return {
    values,
    onProgress: (received: number, total?: number) => values.push({ received, total }),
  };
}

function assertRisesTo(values: { received: number; total: number | undefined }[], total: number) {
  assert.ok(values.length > 2, `only ${values.length} progress reports`);
  for (let i = 1; i < values.length; i++) assert.ok(values[i].received >= values[i - 1].received);
  assert.ok(values.every((v) => v.total === total));
  assert.equal(values[values.length - 1].received, total);
}

Deno.test("a cut download resumes from the .part file in a later run", async () => {
  const file = randomBytes(SIZE);
  const server = startServer(file, { cutAt: 1024 * 1024 });
  const dir = await Deno.makeTempDir({ prefix: "model_download_" });
  const dest = join(dir, "models", "model.gguf");
  try {
    await assert.rejects(
      downloadModel({ url: server.url, dest, retries: 0 }),
      /Download interrupted.*run the command again to resume/,
    );
    assert.equal(await exists(dest), false);
    const partSize = (await Deno.stat(`${dest}.part`)).size;
    assert.ok(partSize > 0 && partSize < SIZE, `part file holds ${partSize} bytes`);

    const progress = progressRecorder();
    const result = await downloadModel({ url: server.url, dest, onProgress: progress.onProgress });
    assert.deepEqual(server.gets, [{ range: null }, { range: `bytes=${partSize}-` }]);
    assert.equal(result.resumedFrom, partSize);
    assert.equal(progress.values[0].received, partSize);
    assertRisesTo(progress.values, SIZE);
    assert.deepEqual(await Deno.readFile(dest), file);
    assert.equal(result.sha256, sha256(file));
    assert.equal(await exists(`${dest}.part`), false);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a cut download resumes by itself within one run", async () => {
  const file = randomBytes(SIZE);
  const server = startServer(file, { cutAt: 2 * 1024 * 1024 });
  const dir = await Deno.makeTempDir({ prefix: "model_download_" });
  const dest = join(dir, "model.gguf");
  try {
    const progress = progressRecorder();
    const result = await downloadModel({
      url: server.url,
      dest,
      retryDelayMs: 0,
      onProgress: progress.onProgress,
    });
    assert.equal(server.gets.length, 2);
    assert.match(server.gets[1].range ?? "", /^bytes=\d+-$/);
    assertRisesTo(progress.values, SIZE);
    assert.equal(result.resumedFrom, 0);
    assert.deepEqual(await Deno.readFile(dest), file);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server that ignores Range restarts the file instead of corrupting it", async () => {
  const file = randomBytes(SIZE);
  const server = startServer(file, { cutAt: 1024 * 1024, ignoreRange: true });
  const dir = await Deno.makeTempDir({ prefix: "model_download_" });
  const dest = join(dir, "model.gguf");
  try {
    await downloadModel({ url: server.url, dest, retryDelayMs: 0 });
    assert.equal(server.gets.length, 2);
    assert.deepEqual(await Deno.readFile(dest), file);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checksum mismatch is refused and leaves no file behind", async () => {
  const file = randomBytes(SIZE);
  const dir = await Deno.makeTempDir({ prefix: "model_download_" });
  const dest = join(dir, "model.gguf");
  // The published checksum belongs to other bytes, and then an explicit wrong one.
  const server = startServer(file, { etag: sha256(randomBytes(16)) });
  try {
    await assert.rejects(downloadModel({ url: server.url, dest }), ChecksumMismatchError);
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${dest}.part`), false);

    await assert.rejects(
      downloadModel({ url: server.url, dest, sha256: "0".repeat(64) }),
      (error: Error) => {
        assert.ok(error instanceof ChecksumMismatchError);
        assert.match(error.message, /expected SHA-256 0{64}, got [0-9a-f]{64}/);
        return true;
      },
    );
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${dest}.part`), false);

    // The right explicit checksum wins over the wrong published one.
    const result = await downloadModel({
      url: server.url,
      dest,
      sha256: sha256(file).toUpperCase(),
    });
    assert.equal(result.sha256, sha256(file));
    assert.deepEqual(await Deno.readFile(dest), file);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without any checksum the download is refused unless explicitly allowed", async () => {
  const file = randomBytes(64 * 1024);
  const server = startServer(file, { etag: null });
  const dir = await Deno.makeTempDir({ prefix: "model_download_" });
  const dest = join(dir, "model.gguf");
  try {
    await assert.rejects(downloadModel({ url: server.url, dest }), /no checksum is published/);
    assert.equal(server.gets.length, 0);
    const result = await downloadModel({ url: server.url, dest, allowUnverified: true });
    assert.equal(result.sha256, sha256(file));
    assert.deepEqual(await Deno.readFile(dest), file);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the CLI exits non-zero with a clear message on a checksum mismatch", async () => {
  const file = randomBytes(256 * 1024);
  const server = startServer(file);
  const dir = await Deno.makeTempDir({ prefix: "model_download_" });
  const dest = join(dir, "model.gguf");
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../tasks/model.ts", import.meta.url).pathname,
        "--url",
        server.url,
        "--out",
        dest,
        "--sha256",
        "f".repeat(64),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 1, stderr);
    assert.match(stderr, /Model download failed: Checksum mismatch/);
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${dest}.part`), false);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sha256FromEtag accepts only SHA-256 values", () => {
  const hex = "a".repeat(64);
  assert.equal(sha256FromEtag(`"${hex}"`), hex);
  assert.equal(sha256FromEtag(`W/"${hex.toUpperCase()}"`), hex);
  assert.equal(sha256FromEtag(`"${"a".repeat(40)}"`), undefined);
  assert.equal(sha256FromEtag(null), undefined);
});

Deno.test("offline, the download says the network is unreachable instead of asking for a checksum", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A port nothing listens on: the connection is refused, as when offline.
    const url = `http://127.0.0.1:${freePort()}/model.gguf`;
    await assert.rejects(
      downloadModel({ url, dest: `${dir}/model.gguf`, retries: 0 }),
      (err: Error) => /network is unreachable/.test(err.message) && !/checksum/.test(err.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

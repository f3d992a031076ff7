// The one-line download progress bar of `deno task model`, on stderr.

export function formatMb(bytes: number) {
  return (bytes / 1e6).toFixed(1);
}

/** A one-line progress bar on stderr, redrawn at most ten times a second. */
export function progressBar(
  write = (text: string) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
) {
  const started = performance.now();
  let last = 0;
  let startBytes: number | undefined;
  return {
    update(received: number, total: number | undefined) {
      startBytes ??= received;
      const now = performance.now();
      if (now - last < 100 && received !== total) return;
      last = now;
      const rate = (received - startBytes) / 1e6 / Math.max((now - started) / 1000, 0.001);
      const width = 30;
      const share = total ? Math.min(received / total, 1) : 0;
      const bar = total
        ? "#".repeat(Math.round(share * width)).padEnd(width, "-")
        : "?".repeat(width);
      const amount = total
        ? `${formatMb(received)}/${formatMb(total)} MB`
        : `${formatMb(received)} MB`;
      write(
        `\r[${bar}] ${(share * 100).toFixed(0).padStart(3)}% ${amount} ${rate.toFixed(1)} MB/s `,
      );
    },
    done() {
      write("\n");
    },
  };
}

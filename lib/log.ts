// Structured logs for the web server and the worker: one line per event, JSON (LOG_FORMAT=json)
// or readable (pretty), filtered by LOG_LEVEL. Session tokens, and the Redis keys that embed
// them, are redacted from every string before it is written: a log line is not a secret store.

import { LogSink } from "./log_sink.ts";

export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Session tokens are 43 base64url characters (256 bits); keys are `chat:<kind>:<token>`. */
const TOKEN_CHARS = 43;
const TOKEN = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
const SESSION_KEY = /\bchat:([a-z]+):[A-Za-z0-9_-]+/g;

/** The text with every session key and token replaced by a placeholder. */
export function redact(text: string): string {
  // Most values (ids, names, short messages) name no key and are too short to hold a token: they
  // skip the regular expressions, which were a tenth of a busy web server's CPU.
  if (text.includes("chat:")) text = text.replace(SESSION_KEY, "chat:$1:<token>");
  return text.length < TOKEN_CHARS ? text : text.replace(TOKEN, "<token>");
}

function clean(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (value instanceof Error) return redact(value.message);
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => clean(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clean(v, depth + 1)]));
}

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose lines all carry `fields` (a request id, a turn id, the process). */
  child(fields: Fields): Logger;
}

export interface LogOptions {
  format: "json" | "pretty";
  level: Level;
  write?: (line: string, level: Level) => void;
}

/** The process's one sink, made on its first line (so importing this module writes nothing). */
let sink: LogSink | null = null;

function defaultWrite(line: string, level: Level): void {
  if (!sink) {
    sink = new LogSink();
    sink.flushOnExit();
  }
  sink.write(line, level === "warn" || level === "error");
}

function format(opts: LogOptions, level: Level, msg: string, fields: Fields): string {
  const record = clean({ ...fields }) as Fields;
  if (opts.format === "json") {
    return JSON.stringify({ time: new Date().toISOString(), level, msg: redact(msg), ...record });
  }
  const extra = Object.entries(record)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const time = new Date().toISOString().slice(11, 23);
  return `${time} ${level.toUpperCase().padEnd(5)} ${redact(msg)}${extra ? `  ${extra}` : ""}`;
}

export function createLogger(opts: LogOptions, base: Fields = {}): Logger {
  const write = opts.write ?? defaultWrite;
  const emit = (level: Level) => (msg: string, fields: Fields = {}) => {
    if (RANK[level] < RANK[opts.level]) return;
    write(format(opts, level, msg, { ...base, ...fields }), level);
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

/** The logging options of the environment: JSON unless a person is watching the terminal. */
export function logOptions(config: { LOG_LEVEL?: Level; LOG_FORMAT?: "json" | "pretty" }) {
  let interactive = false;
  try {
    interactive = Deno.stdout.isTerminal();
  } catch {
    // No terminal information (a sandboxed runtime): machines read the logs.
  }
  return {
    level: config.LOG_LEVEL ?? "info",
    format: config.LOG_FORMAT ?? (interactive ? "pretty" : "json"),
  } satisfies LogOptions;
}

let root: Logger = createLogger({ format: "pretty", level: "info" });

/** Sets the process's logger once, from configuration, at start-up. */
export function configureLogging(opts: LogOptions, base: Fields = {}): Logger {
  root = createLogger(opts, base);
  return root;
}

/**
 * A logger whose lines carry `fields`, written by the process's logger of the moment (so children
 * made before configureLogging() still follow it). A class: every request and every open socket
 * holds one, and a set of closures per child cost each of them half a kilobyte.
 */
class Child implements Logger {
  constructor(private readonly fields: Fields) {}
  debug(msg: string, extra?: Fields): void {
    root.debug(msg, { ...this.fields, ...extra });
  }
  info(msg: string, extra?: Fields): void {
    root.info(msg, { ...this.fields, ...extra });
  }
  warn(msg: string, extra?: Fields): void {
    root.warn(msg, { ...this.fields, ...extra });
  }
  error(msg: string, extra?: Fields): void {
    root.error(msg, { ...this.fields, ...extra });
  }
  child(more: Fields): Logger {
    return new Child({ ...this.fields, ...more });
  }
}

/** The process's logger (configured by its entry point). */
export const log: Logger = new Child({});

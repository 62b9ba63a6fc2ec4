import { Context } from "./context.ts";

/**
 * One structured logger for the whole suite: one JSON object per line, which
 * CloudWatch Logs Insights and `jq` read as-is. Info goes to stdout, warnings
 * and errors to stderr. Never log secrets: tokens, passwords, full URLs.
 */

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;
export type LogSink = (level: LogLevel, line: string) => void;

const defaultSink: LogSink = (level, line) => {
  if (level === "warn" || level === "error") process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
};

let sink: LogSink = defaultSink;

/** Redirects log lines (tests capture them); returns a function that restores the previous sink. */
export function setLogSink(next: LogSink): () => void {
  const previous = sink;
  sink = next;
  return () => {
    sink = previous;
  };
}

function errorFields(err: unknown): LogFields {
  if (!(err instanceof Error)) return { error: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    error: err.message,
    error_name: err.name,
    ...(code !== undefined ? { error_code: code } : {}),
    ...(err.stack ? { stack: err.stack } : {}),
  };
}

function emit(level: LogLevel, msg: string, fields?: LogFields): void {
  const { err, ...rest } = fields ?? {};
  const requestId = Context.get()?.requestId;
  const entry = {
    level,
    time: new Date().toISOString(),
    msg,
    ...(requestId ? { request_id: requestId } : {}),
    ...rest,
    ...(err !== undefined ? errorFields(err) : {}),
  };
  sink(level, JSON.stringify(entry, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

/** The logger. Pass an error as `err` to get its message, code and stack. */
export const Log = {
  info: (msg: string, fields?: LogFields) => emit("info", msg, fields),
  warn: (msg: string, fields?: LogFields) => emit("warn", msg, fields),
  error: (msg: string, fields?: LogFields) => emit("error", msg, fields),
};

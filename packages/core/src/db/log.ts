import type { LogEvent } from "kysely";

/**
 * Query logging in the reference system's format, on stderr:
 *
 *   [2026-02-10 12:00:00] SLOW QUERY (2.345s): SELECT * FROM row WHERE status = $1
 *
 * DB_ECHO prints every query as `QUERY`, failures as `QUERY ERROR`;
 * DB_ENABLE_QUERY_LOGGING prints those at or over DB_SLOW_QUERY_THRESHOLD as
 * `SLOW QUERY`. SQL is printed with its `$n` placeholders: parameter values
 * (emails, token hashes) never reach the logs.
 */

export interface QueryLogOptions {
  echo: boolean;
  slowQueryLogging: boolean;
  slowQueryThresholdMs: number;
  /** Where lines go; stderr unless a test captures them. */
  write?: (line: string) => void;
  now?: () => Date;
}

/** `2026-02-10 12:00:00` in UTC. */
export function formatTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** Collapses a statement onto one line so each log entry is exactly one line. */
export function oneLine(sqlText: string): string {
  return sqlText.replace(/\s+/g, " ").trim();
}

/** One log line, without the trailing newline. */
export function formatQueryLine(label: string, durationMs: number, sqlText: string, at: Date): string {
  return `[${formatTimestamp(at)}] ${label} (${(durationMs / 1000).toFixed(3)}s): ${oneLine(sqlText)}`;
}

/** Builds the per-event logger, or null when nothing is to be logged. */
export function createQueryLogger(options: QueryLogOptions): ((event: LogEvent) => void) | null {
  if (!options.echo && !options.slowQueryLogging) return null;
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  return (event) => {
    const ms = event.queryDurationMillis;
    const text = event.query.sql;
    if (event.level === "error") {
      if (options.echo) write(formatQueryLine("QUERY ERROR", ms, text, now()));
      else if (options.slowQueryLogging && ms >= options.slowQueryThresholdMs) {
        write(formatQueryLine("SLOW QUERY", ms, text, now()));
      }
      return;
    }
    if (options.slowQueryLogging && ms >= options.slowQueryThresholdMs) {
      write(formatQueryLine("SLOW QUERY", ms, text, now()));
    } else if (options.echo) {
      write(formatQueryLine("QUERY", ms, text, now()));
    }
  };
}

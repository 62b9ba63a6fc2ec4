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
}

/** One log line (`[UTC time] LABEL (seconds): sql on one line`), without the trailing newline. */
export function formatQueryLine(label: string, durationMs: number, sqlText: string, at: Date): string {
  const time = at.toISOString().slice(0, 19).replace("T", " ");
  return `[${time}] ${label} (${(durationMs / 1000).toFixed(3)}s): ${sqlText.replace(/\s+/g, " ").trim()}`;
}

export type QueryLogger = (sqlText: string, durationMs: number, failed: boolean) => void;

/** The logger for these options, or null when nothing is to be logged. */
export function createQueryLogger(options: QueryLogOptions): QueryLogger | null {
  if (!options.echo && !options.slowQueryLogging) return null;
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  return (sqlText, ms, failed) => {
    const slow = options.slowQueryLogging && ms >= options.slowQueryThresholdMs;
    const label = failed && options.echo ? "QUERY ERROR" : slow ? "SLOW QUERY" : options.echo ? "QUERY" : null;
    if (label) write(formatQueryLine(label, ms, sqlText, new Date()));
  };
}

import { DatabaseUnavailableError, type UnavailableReason } from "../error.ts";

/**
 * Classifies a driver error. Errors that mean "the database cannot serve this
 * right now" become DatabaseUnavailableError (503 + retry-after); everything
 * else (constraint violations, syntax errors, bugs) passes through untouched.
 */

/** SQLSTATE classes and codes that say the server, not the query, is the problem. */
const UNAVAILABLE_SQLSTATES: Array<[RegExp, UnavailableReason]> = [
  [/^08/, "connection_lost"], // connection exception
  [/^53/, "server_busy"], // insufficient resources (53300 too_many_connections)
  [/^57P0[1-4]$/, "connection_lost"], // admin/crash shutdown, cannot connect now, database dropped
  [/^57014$/, "statement_timeout"], // query_canceled: statement_timeout
  [/^55P03$/, "statement_timeout"], // lock_not_available: lock_timeout
  [/^28/, "connect_failed"], // invalid authorization
  [/^3D000$/, "connect_failed"], // database does not exist
];

/** Node socket errors and pg's own messages for a dead connection. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);
const DEAD_CONNECTION = /Connection terminated|connection is closed|Client has encountered a connection error|not queryable|WebSocket|socket hang up|timeout exceeded when trying to connect/i;

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Maps a driver error to DatabaseUnavailableError when it is about availability. */
export function toDatabaseError(err: unknown, phase: "connect" | "query"): unknown {
  if (err instanceof DatabaseUnavailableError) return err;
  // Misuse, not unavailability: say exactly what is wrong.
  if (err instanceof Error && err.name === "DataDirLockedError") return err;
  const state = sqlState(err);
  if (state) {
    for (const [pattern, reason] of UNAVAILABLE_SQLSTATES) {
      if (pattern.test(state)) {
        return new DatabaseUnavailableError(reason, describe(reason, phase, state), err);
      }
    }
    return err;
  }
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if ((typeof code === "string" && NETWORK_CODES.has(code)) || DEAD_CONNECTION.test(message) || phase === "connect") {
    const reason: UnavailableReason = phase === "connect" ? "connect_failed" : "connection_lost";
    return new DatabaseUnavailableError(reason, describe(reason, phase, typeof code === "string" ? code : undefined), err);
  }
  return err;
}

function describe(reason: UnavailableReason, phase: string, code: string | undefined): string {
  const suffix = code ? ` (${code})` : "";
  switch (reason) {
    case "connect_failed":
      return `could not connect to the database${suffix}`;
    case "connection_lost":
      return `the database connection was lost during ${phase}${suffix}`;
    case "server_busy":
      return `the database refused more work${suffix}`;
    case "statement_timeout":
      return `a statement ran past its timeout${suffix}`;
    default:
      return `the database is unavailable${suffix}`;
  }
}

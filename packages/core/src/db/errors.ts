import { DatabaseUnavailableError, VisibleError, type UnavailableReason } from "../error.ts";

/**
 * The one place driver errors become core's errors, so nothing above the db
 * module reads a SQLSTATE: clashes and vanished references become 409 and 404,
 * values Postgres cannot store become 400, and "the database cannot serve this
 * right now" becomes 503. Anything else is a bug and passes through untouched.
 * Messages never repeat the driver's text: it can echo a client's input.
 */

/** SQLSTATE classes and codes, in order; the first match wins. The driver's error stays as the cause. */
const BY_SQLSTATE: Array<[RegExp, (state: string, phase: Phase, cause: unknown) => VisibleError]> = [
  [/^23505$/, (_, __, cause) => new VisibleError("conflict", "conflict", "this conflicts with an existing resource", { cause })],
  // A referenced row vanished between a check and a write (a concurrent delete).
  [/^23503$/, (_, __, cause) => new VisibleError("not_found", "not_found", "a referenced resource no longer exists", { cause })],
  // Data exceptions: a NUL character, an impossible date, a number out of range.
  [/^22/, (_, __, cause) => new VisibleError("invalid", "invalid_request", "the request holds a value the database cannot store", {
    details: [{ path: "request", message: "contains a value the database cannot store (e.g. a NUL character or an impossible date)" }],
    cause,
  })],
  [/^08|^57P0[1-4]$/, unavailable("connection_lost")],
  [/^53/, unavailable("server_busy")], // insufficient resources (53300 too_many_connections)
  [/^57014$/, unavailable("statement_timeout")],
  [/^55P03$/, unavailable("lock_timeout")],
  [/^40001$|^40P01$/, unavailable("contention")], // serialization failure, deadlock: safe to retry
  [/^28|^3D000$/, unavailable("connect_failed")], // bad credentials, no such database
];

type Phase = "connect" | "query";

function unavailable(reason: UnavailableReason) {
  return (state: string, phase: Phase, cause: unknown) => new DatabaseUnavailableError(reason, describe(reason, phase, state), cause);
}

/** Node socket errors and the drivers' own words for a dead connection. */
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)$/;
const DEAD_CONNECTION =
  /Connection terminated|connection is closed|Client has encountered a connection error|not queryable|WebSocket|socket hang up/i;

/** Maps a driver error to core's errors (see above); returns anything else as it is. */
export function toCoreError(err: unknown, phase: Phase): unknown {
  if (err instanceof VisibleError) return err;
  // Misuse, not unavailability: say exactly what is wrong.
  if (err instanceof Error && err.name === "DataDirLockedError") return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    const rule = BY_SQLSTATE.find(([pattern]) => pattern.test(code));
    return rule ? rule[1](code, phase, err) : err;
  }
  const message = err instanceof Error ? err.message : String(err);
  if ((typeof code === "string" && NETWORK_CODES.test(code)) || DEAD_CONNECTION.test(message) || phase === "connect") {
    const reason: UnavailableReason =
      phase === "query" ? "connection_lost" : /timeout/i.test(message) ? "connect_timeout" : "connect_failed";
    return new DatabaseUnavailableError(reason, describe(reason, phase, typeof code === "string" ? code : undefined), err);
  }
  return err;
}

/** True when the connection that raised `err` cannot be used again. */
export function isConnectionLost(err: unknown): boolean {
  return err instanceof DatabaseUnavailableError && err.reason === "connection_lost";
}

const DESCRIPTIONS: Partial<Record<UnavailableReason, string>> = {
  connect_failed: "could not connect to the database",
  connect_timeout: "could not connect to the database in time",
  server_busy: "the database refused more work",
  statement_timeout: "a statement ran past its timeout",
  lock_timeout: "a statement waited too long for a lock",
  contention: "the transaction collided with a concurrent one",
};

function describe(reason: UnavailableReason, phase: Phase, code: string | undefined): string {
  const text = DESCRIPTIONS[reason] ?? `the database connection was lost during ${phase}`;
  return code ? `${text} (${code})` : text;
}

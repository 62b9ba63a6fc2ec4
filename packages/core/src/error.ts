import * as z from "zod";

/**
 * The one error type core throws on purpose. `kind` says what went wrong in
 * terms a handler can map to a status (only the handler wrapper does that);
 * `code` is the stable machine-readable code of the API contract; `message`
 * is safe to show a client.
 */
export type ErrorKind =
  | "invalid"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "gone"
  | "too_large"
  | "unsupported_media"
  | "unavailable";

export interface ErrorDetail {
  path: string;
  message: string;
}

/** Every error response's body; `details` only on 400s. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

export class VisibleError extends Error {
  override name = "VisibleError";
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details: ErrorDetail[] | undefined;

  constructor(kind: ErrorKind, code: string, message: string, options?: { details?: ErrorDetail[]; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.code = code;
    this.details = options?.details;
  }
}

/** Why the database could not serve a request. */
export type UnavailableReason =
  | "pool_exhausted"
  | "connect_failed"
  | "connect_timeout"
  | "connection_lost"
  | "statement_timeout"
  | "lock_timeout"
  | "contention"
  | "server_busy";

/**
 * The database could not be reached or could not answer in time. Maps to 503
 * with `retry-after`; `message` names the limit or failure (no SQL, no driver text).
 */
export class DatabaseUnavailableError extends VisibleError {
  override name = "DatabaseUnavailableError";
  readonly reason: UnavailableReason;

  constructor(reason: UnavailableReason, message: string, cause?: unknown) {
    super("unavailable", "database_unavailable", message, { cause });
    this.reason = reason;
  }
}

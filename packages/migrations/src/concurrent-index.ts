import { sql, type Kysely } from "kysely";
import { DatabaseUnavailableError } from "@shop/core/error";

/**
 * Applies index DDL the way production needs it (docs/migrations.md, "How index DDL is
 * applied"): one `CREATE INDEX CONCURRENTLY IF NOT EXISTS` per statement,
 * outside any transaction, behind a short `lock_timeout`; an INVALID leftover of
 * an earlier failed build is dropped CONCURRENTLY and rebuilt; a lock timeout
 * (SQLSTATE 55P03) is retried with backoff; every index is verified valid.
 *
 * Each index is its own unit of progress, so a run cut short (a Lambda
 * deadline, a killed process) resumes at the first index not yet valid.
 */

export interface IndexSpec {
  name: string;
  table: string;
  /** Column list or expressions, as they go between the parentheses. */
  columns: string;
  /** Everything after the table name, verbatim (`USING btree (a) WHERE ...`); overrides columns/include/where. */
  raw?: string;
  unique?: boolean;
  include?: string;
  where?: string;
  /** Why this index exists, or why it differs from the guide's definition. */
  why: string;
}

export interface IndexBuildOptions {
  lockTimeoutMs: number;
  maxAttempts: number;
  /** Epoch ms after which no new build starts and a running one is cancelled by statement_timeout. */
  deadline?: number | null;
  log?: (event: IndexEvent) => void;
  sleep?: (ms: number) => Promise<void>;
}

export type IndexEvent =
  | { event: "index_exists"; index: string }
  | { event: "index_created"; index: string; ms: number }
  | { event: "index_invalid_dropped"; index: string }
  | { event: "index_lock_timeout"; index: string; attempt: number; retryInMs: number };

/** Raised when the deadline stops a run early; the next run resumes where it stopped. */
export class MigrationIncompleteError extends Error {
  override name = "MigrationIncompleteError";
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** Table names of ours that are SQL keywords and must be quoted. */
const RESERVED = new Set(["user", "row", "timestamp"]);

/** The CREATE statement for one index, exactly as the migration runs it. */
function createIndexSql(spec: IndexSpec): string {
  return [
    `CREATE ${spec.unique ? "UNIQUE " : ""}INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(spec.name)}`,
    spec.raw ? `ON ${quoteIdent(spec.table)} ${spec.raw}` : `ON ${quoteIdent(spec.table)} (${spec.columns})`,
    !spec.raw && spec.include ? `INCLUDE (${spec.include})` : null,
    !spec.raw && spec.where ? `WHERE ${spec.where}` : null,
  ]
    .filter(Boolean)
    .join(" ");
}

function dropIndexSql(name: string): string {
  return `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(name)}`;
}

function lockTimeoutSql(ms: number): string {
  return `SET lock_timeout = '${Math.max(1, Math.round(ms))}ms'`;
}

function statementTimeoutSql(ms: number): string {
  return `SET statement_timeout = ${Math.max(0, Math.round(ms))}`;
}

/** The whole script for review and linting: what `up` runs when every index is missing. */
export function indexPlanSql(specs: readonly IndexSpec[], options: Pick<IndexBuildOptions, "lockTimeoutMs">): string {
  const lines = [
    "-- add_performance_indexes: one statement at a time, outside any transaction.",
    "-- Before each CREATE the migrator reads pg_index.indisvalid: a valid index is skipped;",
    "-- an INVALID one (left by a failed or interrupted build) is first dropped with the",
    "-- DROP INDEX CONCURRENTLY shown in the comment beside it, then rebuilt. A lock timeout",
    "-- (SQLSTATE 55P03) is retried with backoff. statement_timeout is 0 unless a deadline",
    "-- (the migrator Lambda's remaining time) caps it.",
    `${lockTimeoutSql(options.lockTimeoutMs)};`,
    `${statementTimeoutSql(0)};`,
    "",
  ];
  for (const spec of specs) {
    lines.push(`-- ${spec.name}: ${spec.why}`);
    lines.push(`-- if INVALID: ${dropIndexSql(spec.name)};`);
    lines.push(`${createIndexSql(spec)};`);
    lines.push("");
  }
  lines.push("RESET lock_timeout;", "RESET statement_timeout;");
  return `${lines.join("\n")}\n`;
}

interface IndexState {
  valid: boolean;
  ready: boolean;
}

/** The index's validity in the current schema, or null if it does not exist. */
async function indexState(db: Kysely<any>, name: string): Promise<IndexState | null> {
  const { rows } = await sql<{ valid: boolean; ready: boolean }>`
    SELECT i.indisvalid AS valid, i.indisready AS ready
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname = ${name} AND n.nspname = current_schema()
  `.execute(db);
  return rows[0] ?? null;
}

/** Why core's db module says a statement failed to run in time, if it did. */
function timedOut(err: unknown): "lock_timeout" | "statement_timeout" | null {
  if (!(err instanceof DatabaseUnavailableError)) return null;
  return err.reason === "lock_timeout" || err.reason === "statement_timeout" ? err.reason : null;
}

/** Builds every index in `specs` that is not already valid. Idempotent. */
export async function applyIndexes(db: Kysely<any>, specs: readonly IndexSpec[], options: IndexBuildOptions): Promise<void> {
  const log = options.log ?? (() => {});
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  await sql.raw(lockTimeoutSql(options.lockTimeoutMs)).execute(db);
  try {
    for (const [i, spec] of specs.entries()) {
      for (let attempt = 1; ; attempt++) {
        const state = await indexState(db, spec.name);
        if (state?.valid) {
          log({ event: "index_exists", index: spec.name });
          break;
        }
        const remaining = options.deadline ? options.deadline - Date.now() : null;
        if (remaining !== null && remaining <= 0) {
          throw new MigrationIncompleteError(
            `stopped before the deadline with ${specs.length - i} of ${specs.length} indexes still to build ` +
              `(next: ${spec.name}); run the migration again to resume`,
          );
        }
        const started = Date.now();
        try {
          if (state) {
            await sql.raw(dropIndexSql(spec.name)).execute(db);
            log({ event: "index_invalid_dropped", index: spec.name });
          }
          await sql.raw(statementTimeoutSql(remaining ?? 0)).execute(db);
          await sql.raw(createIndexSql(spec)).execute(db);
        } catch (err) {
          const code = timedOut(err);
          if (code === "lock_timeout" && attempt < options.maxAttempts) {
            const retryInMs = Math.min(30_000, 500 * 2 ** (attempt - 1));
            log({ event: "index_lock_timeout", index: spec.name, attempt, retryInMs });
            await sleep(retryInMs);
            continue; // the next pass drops the INVALID leftover, if any
          }
          if (code === "statement_timeout" && options.deadline) {
            throw new MigrationIncompleteError(
              `building ${spec.name} ran into the deadline and was cancelled (it is left INVALID and is ` +
                `rebuilt on the next run); run the migration again to resume`,
            );
          }
          throw err;
        }
        const after = await indexState(db, spec.name);
        if (!after?.valid) {
          throw new Error(`index ${spec.name} is not valid after CREATE INDEX CONCURRENTLY`);
        }
        log({ event: "index_created", index: spec.name, ms: Date.now() - started });
        break;
      }
    }
  } finally {
    await sql.raw("RESET lock_timeout").execute(db);
    await sql.raw("RESET statement_timeout").execute(db);
  }
}

/** Drops the given indexes concurrently (for `down`). */
export async function dropIndexes(db: Kysely<any>, specs: readonly IndexSpec[]): Promise<void> {
  for (const spec of [...specs].reverse()) {
    await sql.raw(dropIndexSql(spec.name)).execute(db);
  }
}

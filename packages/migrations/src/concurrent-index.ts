import { sql, type Kysely } from "kysely";
import { DatabaseUnavailableError } from "@shop/core/error";

/**
 * Applies index DDL the way production needs it (docs/migrations.md, "How index DDL is
 * applied"): one statement at a time, CONCURRENTLY, outside any transaction, behind a
 * short `lock_timeout`; a lock timeout (SQLSTATE 55P03) is retried with backoff.
 *
 * An index migration is a list of changes: create an index, sharpen one (a new
 * definition under the same name) or drop one. Before every statement the state is
 * read back from pg_index (validity, pg_get_indexdef), and only the next step still
 * to do runs, so a run cut short anywhere (a Lambda deadline, a killed process, a lock
 * timeout mid-build or mid-drop) resumes where it stopped, and a second run does nothing.
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
  /** The predicate of a partial index, written the way pg_get_indexdef prints it (a build checks this). */
  where?: string;
  /** Why this index exists, or why it differs from the guide's definition. */
  why: string;
}

/**
 * One change of an index migration. `sharpen` gives an existing index a new
 * definition under the same name: built beside the old one as `<name>__new`, then
 * the old one is dropped and the new one renamed, so queries never go without it.
 */
export type IndexChange =
  | ({ op: "create" | "sharpen" } & IndexSpec)
  | { op: "drop"; name: string; why: string };

export interface IndexBuildOptions {
  lockTimeoutMs: number;
  maxAttempts: number;
  /** Epoch ms after which no new statement starts and a running one is cancelled by statement_timeout. */
  deadline?: number | null;
  log?: (event: IndexEvent) => void;
  sleep?: (ms: number) => Promise<void>;
}

export type IndexEvent =
  | { event: "index_exists"; index: string }
  | { event: "index_created"; index: string; ms: number }
  | { event: "index_invalid_dropped"; index: string }
  | { event: "index_dropped"; index: string; ms: number }
  | { event: "index_renamed"; index: string; from: string }
  | { event: "index_already_dropped"; index: string }
  | { event: "index_lock_timeout"; index: string; attempt: number; retryInMs: number };

/** Raised when the deadline stops a run early; the next run resumes where it stopped. */
export class MigrationIncompleteError extends Error {
  override name = "MigrationIncompleteError";
}

/** The name a sharpened index is built under until it replaces the old one. */
export function tempName(name: string): string {
  return `${name}__new`;
}

/** The indexes the migrations leave, in order (each change applied to the list), and those they dropped. */
export function foldCatalog(migrations: readonly (readonly IndexChange[])[]): {
  indexes: IndexSpec[];
  dropped: string[];
} {
  const indexes = new Map<string, IndexSpec>();
  const dropped = new Set<string>();
  for (const change of migrations.flat()) {
    if (change.op === "drop") {
      indexes.delete(change.name);
      dropped.add(change.name);
      continue;
    }
    // Postgres truncates identifiers at 63 bytes: the temporary name must still be distinct.
    if (tempName(change.name).length > 63) throw new Error(`index name ${change.name} is too long to sharpen`);
    const { op: _, ...spec } = change;
    indexes.set(spec.name, spec);
    dropped.delete(spec.name);
  }
  return { indexes: [...indexes.values()], dropped: [...dropped] };
}

/**
 * The changes that undo `changes`, newest first, given the definitions they replaced
 * (`before`: the catalog before the migration, plus any older index it took over).
 */
export function inverseOf(changes: readonly IndexChange[], before: readonly IndexSpec[]): IndexChange[] {
  const previous = new Map(before.map((s) => [s.name, s]));
  return [...changes].reverse().map((change): IndexChange => {
    if (change.op === "create") return { op: "drop", name: change.name, why: "down" };
    const was = previous.get(change.name);
    if (!was) throw new Error(`cannot undo the change to ${change.name}: its definition before the migration is unknown`);
    return { op: change.op === "drop" ? "create" : "sharpen", ...was };
  });
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** Table names of ours that are SQL keywords and must be quoted. */
const RESERVED = new Set(["user", "row", "timestamp"]);

/** The columns, INCLUDE and WHERE of an index as they follow the table name. */
function columnsClause(spec: IndexSpec): string {
  return [
    `(${spec.columns})`,
    spec.include ? `INCLUDE (${spec.include})` : null,
    spec.where ? `WHERE ${spec.where}` : null,
  ]
    .filter(Boolean)
    .join(" ");
}

/** An index's definition without its name or schema, as pg_get_indexdef prints it: `[UNIQUE ]ON table USING ...`. */
export function definitionOf(spec: IndexSpec): string {
  return `${spec.unique ? "UNIQUE " : ""}ON ${spec.table} ${spec.raw ?? `USING btree ${columnsClause(spec)}`}`;
}

/** The CREATE statement for one index (under `name`, by default its own), exactly as the migration runs it. */
function createIndexSql(spec: IndexSpec, name = spec.name): string {
  return [
    `CREATE ${spec.unique ? "UNIQUE " : ""}INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(name)}`,
    `ON ${quoteIdent(spec.table)} ${spec.raw ?? columnsClause(spec)}`,
  ].join(" ");
}

function dropIndexSql(name: string): string {
  return `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(name)}`;
}

function renameIndexSql(from: string, to: string): string {
  return `ALTER INDEX IF EXISTS ${quoteIdent(from)} RENAME TO ${quoteIdent(to)}`;
}

function lockTimeoutSql(ms: number): string {
  return `SET lock_timeout = '${Math.max(1, Math.round(ms))}ms'`;
}

function statementTimeoutSql(ms: number): string {
  return `SET statement_timeout = ${Math.max(0, Math.round(ms))}`;
}

/** The statements of one change when nothing of it exists yet, each a line. */
function changeSql(change: IndexChange): string[] {
  if (change.op === "drop") return [`-- ${change.name}, dropped: ${change.why}`, `${dropIndexSql(change.name)};`];
  if (change.op === "create") {
    return [
      `-- ${change.name}: ${change.why}`,
      `-- if INVALID: ${dropIndexSql(change.name)};`,
      `${createIndexSql(change)};`,
    ];
  }
  const temp = tempName(change.name);
  return [
    `-- ${change.name}, sharpened: ${change.why}`,
    `-- if INVALID: ${dropIndexSql(temp)};`,
    `${createIndexSql(change, temp)};`,
    `${dropIndexSql(change.name)};`,
    `${renameIndexSql(temp, change.name)};`,
  ];
}

/** The whole script of the given index migrations, for review and linting: what `up` runs on a database at the previous one. */
export function indexPlanSql(
  migrations: ReadonlyArray<{ name: string; changes: readonly IndexChange[] }>,
  options: Pick<IndexBuildOptions, "lockTimeoutMs">,
): string {
  const lines = [
    "-- The index migrations: one statement at a time, outside any transaction. Before each",
    "-- statement the migrator reads pg_index and runs only what is left: an index that is",
    "-- valid with the wanted definition (pg_get_indexdef) is skipped; an INVALID one (left by",
    "-- a failed or interrupted build or drop) is first dropped with the DROP INDEX CONCURRENTLY",
    "-- shown beside it. A sharpened index is built as <name>__new, the old one is dropped and",
    "-- the new one takes the name. A lock timeout (SQLSTATE 55P03) is retried with backoff.",
    "-- statement_timeout is 0 unless a deadline (the migrator Lambda's remaining time) caps it.",
    `${lockTimeoutSql(options.lockTimeoutMs)};`,
    `${statementTimeoutSql(0)};`,
  ];
  for (const migration of migrations) {
    lines.push("", `-- ${migration.name}`);
    for (const change of migration.changes) lines.push("", ...changeSql(change));
  }
  lines.push("", "RESET lock_timeout;", "RESET statement_timeout;");
  return `${lines.join("\n")}\n`;
}

export interface ExistingIndex {
  table: string;
  valid: boolean;
  unique: boolean;
  /** What follows the table name in pg_get_indexdef (`USING btree (...) ...`). */
  using: string;
  /** Comparable with definitionOf(spec). */
  definition: string;
}

/** The named indexes of the current schema that exist, by name. */
export async function readIndexes(db: Kysely<any>, names: readonly string[]): Promise<Map<string, ExistingIndex>> {
  const { rows } = await sql<{ name: string; table: string; valid: boolean; definition: string }>`
    SELECT c.relname AS name, t.relname AS table, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relname = ANY(${[...names]})
  `.execute(db);
  return new Map(
    rows.map((row) => {
      // CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING method (columns) [...]
      const match = /^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (USING .*)$/.exec(row.definition);
      const unique = Boolean(match?.[1]);
      const using = match?.[2] ?? row.definition;
      const definition = `${unique ? "UNIQUE " : ""}ON ${row.table} ${using}`;
      return [row.name, { table: row.table, valid: row.valid, unique, using, definition }];
    }),
  );
}

type Step =
  | { kind: "create"; index: string; spec: IndexSpec }
  | { kind: "drop"; index: string; invalid: boolean }
  | { kind: "rename"; from: string; to: string };

/**
 * The next statement that brings `spec` about, from what exists under its name and
 * its temporary name; null when it is done. Every state a cut-short run can leave
 * has one: old only, old + new, old INVALID + new (an interrupted drop), new only
 * under the temporary name, an INVALID leftover of either.
 */
function nextStep(spec: IndexSpec, current: ExistingIndex | undefined, temp: ExistingIndex | undefined): Step | null {
  const wanted = definitionOf(spec);
  const fits = (i: ExistingIndex | undefined) => Boolean(i?.valid && i.definition === wanted);
  const tmp = tempName(spec.name);
  if (temp && !fits(temp)) return { kind: "drop", index: tmp, invalid: !temp.valid };
  if (fits(current)) return temp ? { kind: "drop", index: tmp, invalid: false } : null;
  if (temp) return current ? { kind: "drop", index: spec.name, invalid: !current.valid } : { kind: "rename", from: tmp, to: spec.name };
  if (!current) return { kind: "create", index: spec.name, spec };
  if (!current.valid) return { kind: "drop", index: spec.name, invalid: true };
  return { kind: "create", index: tmp, spec };
}

function stepSql(step: Step): string {
  if (step.kind === "create") return createIndexSql(step.spec, step.index);
  if (step.kind === "drop") return dropIndexSql(step.index);
  return renameIndexSql(step.from, step.to);
}

function stepEvent(step: Step, ms: number): IndexEvent {
  if (step.kind === "create") return { event: "index_created", index: step.index, ms };
  if (step.kind === "rename") return { event: "index_renamed", index: step.to, from: step.from };
  return step.invalid ? { event: "index_invalid_dropped", index: step.index } : { event: "index_dropped", index: step.index, ms };
}

function cancelledMessage(step: Step): string {
  if (step.kind === "create") return `building ${step.index} ran into the deadline and was cancelled (it is left INVALID and is rebuilt on the next run)`;
  if (step.kind === "drop") return `dropping ${step.index} ran into the deadline and was cancelled (it may be left INVALID and is dropped on the next run)`;
  return `renaming ${step.from} ran into the deadline and was cancelled (the next run renames it)`;
}

/** Why core's db module says a statement failed to run in time, if it did. */
function timedOut(err: unknown): "lock_timeout" | "statement_timeout" | null {
  if (!(err instanceof DatabaseUnavailableError)) return null;
  return err.reason === "lock_timeout" || err.reason === "statement_timeout" ? err.reason : null;
}

/** Applies `changes` in order, each statement only if still needed. Idempotent and resumable. */
export async function applyIndexChanges(db: Kysely<any>, changes: readonly IndexChange[], options: IndexBuildOptions): Promise<void> {
  const log = options.log ?? (() => {});
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  await sql.raw(lockTimeoutSql(options.lockTimeoutMs)).execute(db);
  try {
    for (const [i, change] of changes.entries()) {
      const temp = tempName(change.name);
      let stepped = false;
      for (let attempt = 1; ; ) {
        const found = await readIndexes(db, change.op === "drop" ? [change.name] : [change.name, temp]);
        const current = found.get(change.name);
        const step: Step | null =
          change.op === "drop"
            ? current
              ? { kind: "drop", index: change.name, invalid: !current.valid }
              : null
            : nextStep(change, current, found.get(temp));
        if (!step) {
          if (!stepped) log({ event: change.op === "drop" ? "index_already_dropped" : "index_exists", index: change.name });
          break;
        }
        const remaining = options.deadline ? options.deadline - Date.now() : null;
        if (remaining !== null && remaining <= 0) {
          throw new MigrationIncompleteError(
            `stopped before the deadline with ${changes.length - i} of ${changes.length} index changes still to apply ` +
              `(next: ${change.name}); run the migration again to resume`,
          );
        }
        const started = Date.now();
        try {
          await sql.raw(statementTimeoutSql(remaining ?? 0)).execute(db);
          await sql.raw(stepSql(step)).execute(db);
        } catch (err) {
          const code = timedOut(err);
          if (code === "lock_timeout" && attempt < options.maxAttempts) {
            const retryInMs = Math.min(30_000, 500 * 2 ** (attempt - 1));
            log({ event: "index_lock_timeout", index: change.name, attempt, retryInMs });
            attempt++;
            await sleep(retryInMs);
            continue; // the next pass reads what the timeout left (an INVALID index, say) and goes on from there
          }
          if (code === "statement_timeout" && options.deadline) {
            throw new MigrationIncompleteError(`${cancelledMessage(step)}; run the migration again to resume`);
          }
          throw err;
        }
        stepped = true;
        if (step.kind === "create") {
          const built = (await readIndexes(db, [step.index])).get(step.index);
          const wanted = definitionOf(step.spec);
          if (!built?.valid) throw new Error(`index ${step.index} is not valid after CREATE INDEX CONCURRENTLY`);
          if (built.definition !== wanted) {
            // Otherwise every run would rebuild it: the spec must say what pg_get_indexdef says.
            throw new Error(
              `index ${step.index} was built as "${built.definition}" but the migration asks for "${wanted}": ` +
                "write its spec the way pg_get_indexdef prints it",
            );
          }
        }
        log(stepEvent(step, Date.now() - started));
      }
    }
  } finally {
    await sql.raw("RESET lock_timeout").execute(db);
    await sql.raw("RESET statement_timeout").execute(db);
  }
}

/** Builds every index in `specs` that is not already valid with its definition. Idempotent. */
export async function applyIndexes(db: Kysely<any>, specs: readonly IndexSpec[], options: IndexBuildOptions): Promise<void> {
  await applyIndexChanges(db, specs.map((s) => ({ op: "create", ...s })), options);
}

/** Drops the given indexes concurrently (for `down`). */
export async function dropIndexes(db: Kysely<any>, specs: readonly IndexSpec[]): Promise<void> {
  for (const spec of [...specs].reverse()) {
    await sql.raw(dropIndexSql(spec.name)).execute(db);
  }
}

import { sql, type Kysely } from "kysely";
import { Migrator, type Migration } from "kysely/migration";
import { createDatabase, type DatabaseClient } from "@shop/core/db";
import type { Config } from "@shop/core/config";
import { Log } from "@shop/core/log";
import {
  applyIndexChanges,
  definitionOf,
  indexPlanSql,
  MigrationIncompleteError,
  readIndexes,
  tempName,
  type IndexChange,
  type IndexEvent,
} from "./concurrent-index.ts";
import { catalog, droppedIndexes, migrations, schemaStatements } from "./migrations/index.ts";

/**
 * Runs migrations for the CLI, the migrator Lambda and tests: one code path.
 *
 * A session advisory lock held for the whole run serializes migrators (two
 * deploys racing: the second waits, then finds nothing to do). Inside it,
 * each migration runs with the transaction mode it declares: the schema in a
 * transaction, the index catalog outside one (Kysely's `disableTransactions`
 * is per run, so the runner steps one migration at a time).
 */

/** The run lock and `SET lock_timeout` are session state: every query of a run uses one connection. */
const PINNED = { pinned: true } as const;

/** pg_advisory_lock key of the whole run ("shop-mig" in ASCII). */
const RUN_LOCK_KEY = 0x73686f702d6d6967n;

export interface RunOptions {
  lockTimeoutMs: number;
  maxAttempts: number;
  /** Epoch ms: stop cleanly before it (the migrator Lambda's remaining time). */
  deadline?: number | null;
  /** How long to wait for another migrator before giving up. */
  lockWaitMs?: number;
  log?: (event: MigrationEvent) => void;
  /** Stop once this migration is applied (a schema-only database for benchmarks); default: the latest. */
  upTo?: string;
}

export type MigrationEvent =
  | IndexEvent
  | { event: "lock_waiting"; holder_pid: number | null; waited_ms: number }
  | { event: "lock_acquired"; waited_ms: number }
  | { event: "migration_started"; migration: string }
  | { event: "migration_applied"; migration: string; ms: number };

export interface RunResult {
  applied: string[];
  status: MigrationStatus;
}

export interface MigrationStatus {
  applied: number;
  pending: number;
  migrations: Array<{ name: string; executed_at: string | null }>;
}

class MigrationError extends Error {
  override name = "MigrationError";
  constructor(migration: string, cause: unknown) {
    // The database's own words: core's error map keeps them as the cause of what it maps.
    let root = cause;
    while (root instanceof Error && root.cause instanceof Error) root = root.cause;
    super(`migration ${migration} failed: ${root instanceof Error ? root.message : String(root)}`, { cause });
  }
}

/** A database client for migrations: the migrations URL, one pinned connection per run. */
export function openMigrationDatabase(config: Config): DatabaseClient {
  return createDatabase(
    // Index builds run as long as they need (the index DDL sets its own statement_timeout).
    { ...config.database, useNullPool: true, statementTimeoutMs: 0 },
    { target: config.database.migrationsTarget, applicationName: "shopping-agent-migrator" },
  );
}

export function runOptionsFrom(config: Config, extra: Partial<RunOptions> = {}): RunOptions {
  return { lockTimeoutMs: config.migration.lockTimeoutMs, maxAttempts: config.migration.maxAttempts, ...extra };
}

function migrator(db: Kysely<any>, options: RunOptions): Migrator {
  const log = options.log ?? (() => {});
  const buildOptions = {
    lockTimeoutMs: options.lockTimeoutMs,
    maxAttempts: options.maxAttempts,
    deadline: options.deadline ?? null,
    log,
  };
  return new Migrator({
    db,
    provider: {
      async getMigrations() {
        return Object.fromEntries(
          migrations.map((m): [string, Migration] => [
            m.name,
            { up: (tx) => m.up(tx, buildOptions), down: (tx) => m.down(tx, buildOptions) },
          ]),
        );
      },
    },
  });
}

async function withRunLock<T>(db: Kysely<any>, options: RunOptions, fn: () => Promise<T>): Promise<T> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const waitLimit = options.lockWaitMs ?? 15 * 60_000;
  let lastReport = 0;
  for (;;) {
    const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${RUN_LOCK_KEY}) AS locked`.execute(db);
    if (rows[0]?.locked) break;
    const waited = Date.now() - started;
    if (waited >= waitLimit || (options.deadline && Date.now() >= options.deadline)) {
      throw new Error(`another migrator held the migration lock for ${Math.round(waited / 1000)}s; giving up`);
    }
    if (waited - lastReport >= 5000 || lastReport === 0) {
      lastReport = waited || 1;
      const holder = await sql<{ pid: number }>`
        SELECT pid FROM pg_locks
        WHERE locktype = 'advisory' AND granted
          AND ((classid::bigint << 32) | objid::bigint) = ${RUN_LOCK_KEY}
        LIMIT 1`.execute(db);
      log({ event: "lock_waiting", holder_pid: holder.rows[0]?.pid ?? null, waited_ms: waited });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  log({ event: "lock_acquired", waited_ms: Date.now() - started });
  try {
    return await fn();
  } finally {
    await sql`SELECT pg_advisory_unlock(${RUN_LOCK_KEY})`.execute(db);
  }
}

/** Applies every pending migration (or those up to `upTo`); throws MigrationError (or MigrationIncompleteError) on failure. */
export async function migrateToLatest(client: DatabaseClient, options: RunOptions): Promise<RunResult> {
  const log = options.log ?? (() => {});
  if (options.upTo !== undefined && !migrations.some((m) => m.name === options.upTo)) {
    throw new Error(`unknown migration "${options.upTo}" (known: ${migrations.map((m) => m.name).join(", ")})`);
  }
  return client.use(async (scopeDb) => {
    const db = scopeDb as Kysely<any>;
    const applied: string[] = [];
    await withRunLock(db, options, async () => {
      const m = migrator(db, options);
      for (;;) {
        const infos = await m.getMigrations();
        const next = infos.find((info) => !info.executedAt);
        if (!next || infos.some((info) => info.name === options.upTo && info.executedAt)) break;
        const definition = migrations.find((d) => d.name === next.name)!;
        log({ event: "migration_started", migration: next.name });
        const started = Date.now();
        const result = await m.migrateUp({ disableTransactions: !definition.transactional });
        if (result.error instanceof MigrationIncompleteError) throw result.error;
        if (result.error) throw new MigrationError(next.name, result.error);
        log({ event: "migration_applied", migration: next.name, ms: Date.now() - started });
        applied.push(next.name);
      }
      await repairInvalidIndexes(db, options);
    });
    return { applied, status: await readStatus(db) };
  }, PINNED);
}

/**
 * Repairs any INVALID index in the schema, even when the migration that made it is
 * recorded as applied (an interrupted REINDEX CONCURRENTLY or DROP INDEX
 * CONCURRENTLY, or a manual build gone wrong). Catalog indexes are rebuilt from the
 * catalog, others from their own definition; a dropped index or a temporary
 * `<name>__new` leftover is dropped. Missing indexes are left alone (verify reports them).
 */
async function repairInvalidIndexes(db: Kysely<any>, options: RunOptions): Promise<void> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND NOT i.indisvalid`.execute(db);
  if (rows.length === 0) return;
  const existing = await readIndexes(db, rows.map((r) => r.name));
  const leftovers = new Set([...droppedIndexes, ...catalog.map((s) => tempName(s.name))]);
  const changes = [...existing].map(([name, index]): IndexChange => {
    if (leftovers.has(name)) return { op: "drop", name, why: "repair" };
    const known = catalog.find((s) => s.name === name);
    if (known) return { op: "create", ...known };
    if (!index.using.startsWith("USING ")) throw new Error(`cannot rebuild invalid index ${name}: unrecognised definition`);
    return { op: "create", name, table: index.table, columns: "", raw: index.using, unique: index.unique, why: "repair" };
  });
  await applyIndexChanges(db, changes, { ...options, deadline: options.deadline ?? null, log: options.log ?? (() => {}) });
}

async function readStatus(db: Kysely<any>): Promise<MigrationStatus> {
  const infos = await migrator(db, { lockTimeoutMs: 1, maxAttempts: 1 }).getMigrations();
  const list = infos.map((i) => ({ name: i.name, executed_at: i.executedAt?.toISOString() ?? null }));
  const applied = list.filter((m) => m.executed_at !== null).length;
  return { applied, pending: list.length - applied, migrations: list };
}

/** Which migrations are applied and which are pending. */
export async function migrationStatus(client: DatabaseClient): Promise<MigrationStatus> {
  return client.use((db) => readStatus(db as Kysely<any>));
}

export interface IndexReport {
  /** Catalog indexes present, valid and with the expected definition. */
  valid: string[];
  missing: string[];
  invalid: string[];
  wrongDefinition: Array<{ name: string; expected: string; actual: string }>;
  /** Indexes a migration dropped, and temporary `<name>__new` leftovers of a sharpen, that exist. */
  shouldBeGone: string[];
}

/**
 * Checks the catalog as the latest migration leaves it: every index present, valid
 * and with its definition (pg_get_indexdef), and every dropped one gone.
 */
export async function verifyIndexes(client: DatabaseClient): Promise<IndexReport> {
  return client.use(async (scopeDb) => {
    const gone = [...droppedIndexes, ...catalog.map((s) => tempName(s.name))];
    const found = await readIndexes(scopeDb as Kysely<any>, [...catalog.map((s) => s.name), ...gone]);
    const report: IndexReport = { valid: [], missing: [], invalid: [], wrongDefinition: [], shouldBeGone: [] };
    for (const spec of catalog) {
      const index = found.get(spec.name);
      const expected = definitionOf(spec);
      if (!index) {
        report.missing.push(spec.name);
        continue;
      }
      if (!index.valid) report.invalid.push(spec.name);
      if (index.definition !== expected) report.wrongDefinition.push({ name: spec.name, expected, actual: index.definition });
      else if (index.valid) report.valid.push(spec.name);
    }
    report.shouldBeGone = gone.filter((name) => found.has(name));
    return report;
  });
}

/** What is wrong with the catalog, one line each; empty when it is as the latest migration leaves it. */
export function indexProblems(report: IndexReport): string[] {
  return [
    ...report.missing.map((name) => `missing           ${name}`),
    ...report.invalid.map((name) => `INVALID           ${name}`),
    ...report.wrongDefinition.map((w) => `wrong definition  ${w.name}: is "${w.actual}", expected "${w.expected}"`),
    ...report.shouldBeGone.map((name) => `should be gone    ${name}`),
  ];
}

/** Rolls back the newest applied migration (development only). */
export async function migrateDown(client: DatabaseClient, options: RunOptions): Promise<string | null> {
  return client.use(async (scopeDb) => {
    const db = scopeDb as Kysely<any>;
    return withRunLock(db, options, async () => {
      const m = migrator(db, options);
      const last = (await m.getMigrations()).filter((i) => i.executedAt).at(-1);
      if (!last) return null;
      const definition = migrations.find((d) => d.name === last.name)!;
      const result = await m.migrateDown({ disableTransactions: !definition.transactional });
      if (result.error) throw new MigrationError(last.name, result.error);
      return last.name;
    });
  }, PINNED);
}

/** The exact SQL the index migrations run, for review and `squawk`. */
export function indexSql(options: Pick<RunOptions, "lockTimeoutMs">): string {
  return indexPlanSql(
    migrations.flatMap((m) => (m.changes ? [{ name: m.name, changes: m.changes }] : [])),
    options,
  );
}

/** The schema migration's DDL, for review. */
export function schemaSql(): string {
  return `${schemaStatements.map((s) => `${s};`).join("\n\n")}\n`;
}

/** Logs a migration event as one structured line. */
export function logEvent(event: MigrationEvent): void {
  const { event: name, ...fields } = event;
  Log.info(name, fields);
}

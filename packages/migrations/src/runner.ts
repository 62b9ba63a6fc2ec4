import { sql, type Kysely } from "kysely";
import { Migrator, type Migration } from "kysely/migration";
import { createDatabase, type DatabaseClient } from "@shop/core/db";
import type { Config } from "@shop/core/config";
import { Log } from "@shop/core/log";
import {
  applyIndexes,
  indexPlanSql,
  MigrationIncompleteError,
  type IndexEvent,
  type IndexSpec,
} from "./concurrent-index.ts";
import { catalog, migrations, schemaStatements } from "./migrations/index.ts";

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
    { ...config.database, useNullPool: true },
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
          migrations.map((m): [string, Migration] => [m.name, { up: (tx) => m.up(tx, buildOptions), down: m.down }]),
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

/** Applies every pending migration; throws MigrationError (or MigrationIncompleteError) on failure. */
export async function migrateToLatest(client: DatabaseClient, options: RunOptions): Promise<RunResult> {
  const log = options.log ?? (() => {});
  return client.use(async (scopeDb) => {
    const db = scopeDb as Kysely<any>;
    const applied: string[] = [];
    await withRunLock(db, options, async () => {
      const m = migrator(db, options);
      for (;;) {
        const next = (await m.getMigrations()).find((info) => !info.executedAt);
        if (!next) break;
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
 * Rebuilds any INVALID index in the schema, even when the migration that made
 * it is recorded as applied (an interrupted REINDEX CONCURRENTLY, or a manual
 * build gone wrong). Catalog indexes are rebuilt from the catalog, others from
 * their own definition. Missing indexes are left alone: a later migration may
 * have dropped them on purpose.
 */
async function repairInvalidIndexes(db: Kysely<any>, options: RunOptions): Promise<void> {
  const { rows } = await sql<{ name: string; table: string; definition: string }>`
    SELECT c.relname AS name, t.relname AS table, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND NOT i.indisvalid`.execute(db);
  if (rows.length === 0) return;
  const specs = rows.map((row): IndexSpec => {
    const known = catalog.find((s) => s.name === row.name);
    if (known) return known;
    // pg_get_indexdef: CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING method (columns) [...]
    const match = /^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (USING .*)$/.exec(row.definition);
    if (!match) throw new Error(`cannot rebuild invalid index ${row.name}: unrecognised definition`);
    return { name: row.name, table: row.table, columns: "", raw: match[2]!, unique: Boolean(match[1]), why: "repair" };
  });
  await applyIndexes(db, specs, { ...options, deadline: options.deadline ?? null, log: options.log ?? (() => {}) });
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
  missing: string[];
  invalid: string[];
  valid: string[];
}

/** Checks every catalog index by name: present and `indisvalid`. */
export async function verifyIndexes(client: DatabaseClient): Promise<IndexReport> {
  return client.use(async (scopeDb) => {
    const names = catalog.map((s) => s.name);
    const { rows } = await sql<{ name: string; valid: boolean }>`
      SELECT c.relname AS name, i.indisvalid AS valid
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relname = ANY(${names})`.execute(scopeDb);
    const byName = new Map(rows.map((r) => [r.name, r.valid]));
    return {
      missing: names.filter((n) => !byName.has(n)),
      invalid: names.filter((n) => byName.get(n) === false),
      valid: names.filter((n) => byName.get(n) === true),
    };
  });
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

/** The exact SQL the index migration runs, for review and `squawk`. */
export function indexSql(options: Pick<RunOptions, "lockTimeoutMs">): string {
  return indexPlanSql(catalog, options);
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

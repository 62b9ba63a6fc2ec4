import { sql } from "kysely";
import * as z from "zod";
import { Database, type Executor } from "../db/index.ts";
import { Log } from "../log.ts";

/**
 * The scheduled sweeps: housekeeping no request does. Each works in bounded
 * batches, one statement per batch, so no statement holds locks for long on
 * a big table, and stops starting batches when its time budget is spent (the
 * next run carries on). Each is idempotent: a row it has handled no longer
 * matches it.
 *
 * A batch picks its rows `FOR UPDATE SKIP LOCKED` in the statement that
 * changes them: two runs at once (an overlapping schedule, a run by hand)
 * take disjoint rows and never wait on each other or on a request. It needs
 * no session state, so it works through a transaction-mode pooler. A batch
 * never waits for a row lock either (SKIP LOCKED, then it only changes rows it
 * holds), so it cannot deadlock with a request.
 */

type Name = "cleanup-sessions" | "expire-outreach" | "expire-quotes" | "fold-stats";

/** Rows per statement. */
export const BatchSize = z.int().min(1).max(10_000);
const DEFAULT_BATCH_SIZE = 1000;
/** No batch starts after this (well inside the job Lambda's 60 s timeout). */
const DEFAULT_BUDGET_MS = 30_000;
/** Revoked or expired sessions are kept this long, then deleted. */
const SESSION_RETENTION_DAYS = 30;

export interface Options {
  /** Rows per statement (default 1000). */
  batchSize?: number;
  /** Milliseconds after which no new batch starts (default 30 s). The first batch always runs. */
  budgetMs?: number;
}

export interface Result {
  sweep: Name;
  /** Rows deleted or updated. */
  touched: number;
  /** Statements run, the last one (which found fewer rows than a batch) included. */
  batches: number;
  /** False when the budget ran out while rows may remain: the next run carries on. */
  finished: boolean;
  duration_ms: number;
}

/** One batch: changes at most `limit` rows in one statement and returns how many it changed. */
type Batch = (db: Executor, limit: number) => Promise<number>;

/**
 * Runs `phases` in order, each in batches until a batch finds fewer rows than
 * it may take, within the budget; logs and returns what it did. Every batch
 * is its own statement (its own transaction) on the scope's connection: in
 * per-request mode one connection for the run, in pooled mode a borrowed one
 * per batch.
 */
async function sweep(name: Name, phases: readonly Batch[], options: Options): Promise<Result> {
  const batchSize = BatchSize.parse(options.batchSize ?? DEFAULT_BATCH_SIZE);
  const budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
  const started = performance.now();
  let touched = 0;
  let batches = 0;
  let finished = true;
  await Database.use(async (db) => {
    for (const phase of phases) {
      for (;;) {
        if (batches > 0 && performance.now() - started >= budgetMs) {
          finished = false;
          return;
        }
        const n = await phase(db, batchSize);
        batches++;
        touched += n;
        if (n < batchSize) break;
      }
    }
  });
  const result = { sweep: name, touched, batches, finished, duration_ms: Math.round((performance.now() - started) * 100) / 100 };
  Log.info("sweep", { ...result, batch_size: batchSize });
  return result;
}

const retentionCutoff = sql<Date>`now() - make_interval(days => ${sql.lit(SESSION_RETENTION_DAYS)})`;

/**
 * Deletes one batch of sessions whose `column` (revoked_at or expires_at) is
 * before the cutoff, oldest first, in the order of that column's own index.
 */
const sessionsPast =
  (column: "revoked_at" | "expires_at"): Batch =>
  async (db, limit) =>
    (
      await db
        .with("batch", (qc) =>
          qc
            .selectFrom("auth_session")
            .select("id")
            .where(column, "<", retentionCutoff)
            .orderBy(column)
            .limit(limit)
            .forUpdate()
            .skipLocked(),
        )
        .deleteFrom("auth_session")
        .where("id", "in", (eb) => eb.selectFrom("batch").select("batch.id"))
        .returning("id")
        .execute()
    ).length;

/**
 * Deletes sessions revoked or expired more than 30 days ago. Two phases, the
 * revoked, then the expired, each read in the order of its own index: one
 * statement with `OR` could only combine both indexes in a bitmap, which
 * reads every eligible row on each batch.
 */
export function cleanupSessions(options: Options = {}): Promise<Result> {
  return sweep("cleanup-sessions", [sessionsPast("revoked_at"), sessionsPast("expires_at")], options);
}

/** Marks one batch of queued or sent outreach past its expired_at expired, oldest first. */
const lapsedOutreach: Batch = async (db, limit) =>
  (
    await db
      .with("batch", (qc) =>
        qc
          .selectFrom("outreach_event")
          .select("id")
          // Literals, not parameters: the statement then matches the partial index's
          // predicate whatever plan (generic or custom) the server picks.
          .where("status", "in", [sql.lit("queued" as const), sql.lit("sent" as const)])
          .where("expired_at", "<=", sql<Date>`now()`)
          .orderBy("expired_at")
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .updateTable("outreach_event")
      .set({ status: sql.lit("expired") })
      .where("id", "in", (eb) => eb.selectFrom("batch").select("batch.id"))
      .returning("id")
      .execute()
  ).length;

/** Marks outreach events still queued or sent at or past their `expired_at` as expired. */
export function expireOutreach(options: Options = {}): Promise<Result> {
  return sweep("expire-outreach", [lapsedOutreach], options);
}

/** Marks one batch of pending quotes past their token's expiry expired, oldest first. */
const lapsedQuotes: Batch = async (db, limit) =>
  (
    await db
      .with("batch", (qc) =>
        qc
          .selectFrom("seller_quote")
          .select("id")
          .where("status", "=", sql.lit("pending"))
          // As Quote.fromToken: a link is expired from its token_expires_at on.
          .where("token_expires_at", "<=", sql<Date>`now()`)
          .orderBy("token_expires_at")
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .updateTable("seller_quote")
      .set({ status: sql.lit("expired") })
      .where("id", "in", (eb) => eb.selectFrom("batch").select("batch.id"))
      .returning("id")
      .execute()
  ).length;

/** Marks pending seller quotes at or past their `token_expires_at` as expired. */
export function expireQuotes(options: Options = {}): Promise<Result> {
  return sweep("expire-quotes", [lapsedQuotes], options);
}

/** The current hour (UTC) as stat_delta keys live sessions by their hour of expiry (0010). */
export const HOUR_NOW = sql<string>`to_char(date_trunc('hour', now(), 'UTC') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24')`;

/**
 * Folds the admin counts' stat_delta rows (0010) into one row per count and
 * batch, oldest first: each batch deletes the rows it holds and inserts their
 * sums in one statement, so every count keeps its value in any snapshot. Live
 * sessions of hours gone by are dropped: the dashboard reads only later hours,
 * and time only moves on. Rows newer than the run's start (its own sums among
 * them) wait for the next run.
 */
export function foldStats(options: Options = {}): Promise<Result> {
  let bound: number | null = null;
  const top = sql<number>`(select max(id) from stat_delta)`;
  const deltas: Batch = async (db, limit) => {
    const batch = await db
      .with("batch", (qc) =>
        qc
          .selectFrom("stat_delta")
          .select("id")
          .where("id", "<=", bound === null ? top : sql.val(bound))
          .orderBy("id")
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .with("gone", (qc) =>
        qc
          .deleteFrom("stat_delta")
          .where("id", "in", (eb) => eb.selectFrom("batch").select("batch.id"))
          .returning(["name", "key", "n"]),
      )
      .with("folded", (qc) =>
        qc
          .insertInto("stat_delta")
          .columns(["name", "key", "n"])
          .expression((eb) =>
            eb
              .selectFrom("gone")
              .select(["gone.name", "gone.key", sql<number>`sum(gone.n)`.as("n")])
              .where((w) => w.not(w.and([w("gone.name", "=", sql.lit("session.live")), w("gone.key", "<", HOUR_NOW)])))
              .groupBy(["gone.name", "gone.key"])
              .having(sql`sum(gone.n)`, "<>", 0),
          ),
      )
      .selectFrom("gone")
      .select((eb) => [eb.fn.countAll<number>().as("n"), top.as("top")])
      .executeTakeFirstOrThrow();
    bound ??= batch.top ?? 0;
    return Number(batch.n);
  };
  return sweep("fold-stats", [deltas], options);
}

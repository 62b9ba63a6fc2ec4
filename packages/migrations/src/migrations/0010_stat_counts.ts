import { sql, type Kysely } from "kysely";

/**
 * 0010_stat_counts: the admin dashboard's counts, kept current by triggers,
 * so GET /api/admin/stats reads a few hundred rows instead of whole tables.
 * Frozen in time, like every migration.
 *
 * Each insert or delete statement appends its net change per count to
 * `stat_delta` (name, key, n), and so does each row an update moves between
 * counts: no row of it is ever updated, so concurrent writers never wait on
 * each other or deadlock on a shared counter. A count is the sum of its rows,
 * exact in any snapshot (a delta commits with the change it counts). The
 * fold-stats sweep folds the rows into one per count (one statement: delete
 * what it sees, insert the sums), which keeps the sum and the table small.
 *
 * Live sessions depend on the clock: they are counted per hour of expiry
 * (UTC); the dashboard adds the hours after the current one to the sessions
 * of the current hour that have not expired yet (ix_auth_session_expires_at).
 *
 * The triggers are created before the first counts are taken, in one
 * transaction: the CREATE TRIGGERs hold off writers to these tables until the
 * commit, so no change falls between the count and its trigger. TRUNCATE is
 * not counted (the app never truncates; the data generator recounts).
 */

export const transactional = true;

/** The hour of a session's expiry, UTC, as text that sorts in time order. */
const EXPIRY_HOUR = `to_char(date_trunc('hour', expires_at, 'UTC') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24')`;

interface Count {
  name: string;
  key: string;
  where?: string;
}

/**
 * What each table counts, and the columns whose UPDATE can move a count. Inserts and deletes
 * are counted per statement (over its transition table, whatever the number of rows); an
 * update per row, and only when it sets one of those columns: the hot reads' `last_seen_at`
 * touch and 0005's `bid_count` updates fire nothing.
 */
const COUNTS: Record<string, { counts: Count[]; update: string[] }> = {
  user: { counts: [{ name: "user", key: "''" }], update: [] },
  row: {
    counts: [
      { name: "row.status", key: "status" },
      { name: "row.selected", key: "''", where: "selected_bid_id IS NOT NULL" },
    ],
    update: ["status", "selected_bid_id"],
  },
  bid: { counts: [{ name: "bid", key: "''" }], update: [] },
  auth_session: { counts: [{ name: "session.live", key: EXPIRY_HOUR, where: "revoked_at IS NULL" }], update: ["revoked_at", "expires_at"] },
  purchase_event: { counts: [{ name: "purchase.status", key: "status" }], update: ["status"] },
  merchant: { counts: [{ name: "merchant.status", key: "status" }], update: ["status"] },
};

/** The counts of `table`'s rows in `source` (the table, a transition table, or a row), each row weighing `sign`. */
const rowsOf = (table: string, source: string, sign: 1 | -1) =>
  COUNTS[table]!.counts.map((c) => `SELECT '${c.name}'::text AS name, ${c.key} AS key, ${sign} AS n FROM ${source}${c.where ? ` WHERE ${c.where}` : ""}`);

const appendSums = (parts: string[]) =>
  `INSERT INTO stat_delta (name, key, n) SELECT name, key, sum(n) FROM (${parts.join(" UNION ALL ")}) d GROUP BY name, key HAVING sum(n) <> 0`;

/** Every count from the tables themselves (the first counts; the data generator's recount). */
export const countAll = appendSums(Object.keys(COUNTS).flatMap((t) => rowsOf(t, `"${t}"`, 1)));

const triggers = (table: string): string[] => {
  const fn = `stat_delta_${table}`;
  const { update } = COUNTS[table]!;
  return [
    `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      ${appendSums(rowsOf(table, "new_rows", 1))};
    ELSIF TG_OP = 'DELETE' THEN
      ${appendSums(rowsOf(table, "old_rows", -1))};
    ELSE
      ${appendSums([...rowsOf(table, "(SELECT NEW.*) AS new_row", 1), ...rowsOf(table, "(SELECT OLD.*) AS old_row", -1)])};
    END IF;
    RETURN NULL;
  END $$`,
    `CREATE TRIGGER ${fn}_insert AFTER INSERT ON "${table}" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
    `CREATE TRIGGER ${fn}_delete AFTER DELETE ON "${table}" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
    ...(update.length ? [`CREATE TRIGGER ${fn}_update AFTER UPDATE OF ${update.join(", ")} ON "${table}" FOR EACH ROW EXECUTE FUNCTION ${fn}()`] : []),
  ];
};

export const statements: readonly string[] = [
  `CREATE TABLE stat_delta (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    key text NOT NULL,
    n bigint NOT NULL
  )`,
  ...Object.keys(COUNTS).flatMap(triggers),
  countAll,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of Object.keys(COUNTS)) {
    for (const op of ["insert", "delete", "update"]) await sql.raw(`DROP TRIGGER IF EXISTS stat_delta_${table}_${op} ON "${table}"`).execute(db);
    await sql.raw(`DROP FUNCTION stat_delta_${table}()`).execute(db);
  }
  await sql.raw(`DROP TABLE stat_delta`).execute(db);
}

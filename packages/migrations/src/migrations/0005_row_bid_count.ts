import { sql, type Kysely } from "kysely";

/**
 * 0005_row_bid_count: a row counts its bids (`row.bid_count`), kept by
 * statement-level triggers on bid (one UPDATE per statement and row touched,
 * whatever the number of bids inserted or deleted). The rows list reads it
 * instead of counting each row's bids, and admin stats sums it instead of
 * counting millions of bids. Frozen in time, like every migration.
 */

export const transactional = true;

export const statements: readonly string[] = [
  `ALTER TABLE "row" ADD COLUMN bid_count integer NOT NULL DEFAULT 0 CHECK (bid_count >= 0)`,
  `UPDATE "row" SET bid_count = c.n FROM (SELECT row_id, count(*)::int AS n FROM bid GROUP BY row_id) c WHERE c.row_id = "row".id`,
  `CREATE FUNCTION row_bid_count_add() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE "row" r SET bid_count = r.bid_count + c.n
    FROM (SELECT row_id, count(*)::int AS n FROM new_bids GROUP BY row_id) c WHERE r.id = c.row_id;
    RETURN NULL;
  END $$`,
  `CREATE FUNCTION row_bid_count_remove() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE "row" r SET bid_count = r.bid_count - c.n
    FROM (SELECT row_id, count(*)::int AS n FROM old_bids GROUP BY row_id) c WHERE r.id = c.row_id;
    RETURN NULL;
  END $$`,
  `CREATE TRIGGER bid_count_insert AFTER INSERT ON bid REFERENCING NEW TABLE AS new_bids
    FOR EACH STATEMENT EXECUTE FUNCTION row_bid_count_add()`,
  `CREATE TRIGGER bid_count_delete AFTER DELETE ON bid REFERENCING OLD TABLE AS old_bids
    FOR EACH STATEMENT EXECUTE FUNCTION row_bid_count_remove()`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(`DROP TRIGGER bid_count_delete ON bid`).execute(db);
  await sql.raw(`DROP TRIGGER bid_count_insert ON bid`).execute(db);
  await sql.raw(`DROP FUNCTION row_bid_count_remove()`).execute(db);
  await sql.raw(`DROP FUNCTION row_bid_count_add()`).execute(db);
  await sql.raw(`ALTER TABLE "row" DROP COLUMN bid_count`).execute(db);
}

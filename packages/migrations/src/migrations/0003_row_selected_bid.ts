import { sql, type Kysely } from "kysely";

/**
 * 0003_row_selected_bid: a row names its selected bid (`row.selected_bid_id`),
 * beside each bid's `is_selected`. Selecting a bid locks its row; a select that
 * waited for a racing one then reads the winner's choice from the row as it is
 * now (not as the statement's snapshot had it), so it unselects the right bid
 * in the same statement, with no retry. Row detail and the share view read it
 * instead of searching the row's bids. Frozen in time, like every migration;
 * its index is built CONCURRENTLY by the index migration that follows.
 */

export const transactional = true;

export const statements: readonly string[] = [
  `ALTER TABLE "row" ADD COLUMN selected_bid_id bigint`,
  `UPDATE "row" SET selected_bid_id = bid.id FROM bid WHERE bid.row_id = "row".id AND bid.is_selected`,
  // A deleted bid leaves its row with no selection, like its is_selected went with it.
  `ALTER TABLE "row" ADD CONSTRAINT fk_row_selected_bid FOREIGN KEY (selected_bid_id) REFERENCES bid (id) ON DELETE SET NULL`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(`ALTER TABLE "row" DROP COLUMN selected_bid_id`).execute(db);
}

import { sql, type Kysely } from "kysely";

/**
 * 0006_ssd_planner_costs: random_page_cost 1.1 for this database (Postgres's
 * default of 4 prices a random read like a spinning disk's; Neon and any SSD
 * read randomly almost as fast as in sequence). Hot reads join their data to
 * the session in one statement, so the planner sees the owner as "any user"
 * (a handful of rows); at the default cost it sorts the owner's rows after a
 * bitmap scan, at 1.1 it reads the owner's index in order and stops at the
 * page, which is what a heavy user needs (the EXPLAIN suite checks it). A
 * database setting reaches every new session, pooled or not (a session SET
 * would not survive a transaction-mode pooler). Frozen in time.
 */

export const transactional = true;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET random_page_cost = 1.1', current_database()); END $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET random_page_cost', current_database()); END $$`.execute(db);
}

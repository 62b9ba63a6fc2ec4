import { sql, type Kysely } from "kysely";

/**
 * 0008_clickout_window: each user's clickouts of the last 60 seconds (at most
 * the 11 newest: enough to tell the 11th), in one row per user. A clickout
 * updates that row with INSERT ... ON CONFLICT DO UPDATE, which waits for a
 * racing clickout of the same user and sees its write: concurrent clickouts
 * are judged one after another, so the 11th within 60 s is suspicious even
 * when 30 arrive at once (counting clickout_event rows in one statement's
 * snapshot missed the ones racing it). Frozen in time, like every migration.
 */

export const transactional = true;

export const statements: readonly string[] = [
  `CREATE TABLE clickout_window (
    user_id bigint PRIMARY KEY REFERENCES "user" (id) ON DELETE CASCADE,
    recent timestamptz[] NOT NULL CHECK (cardinality(recent) BETWEEN 1 AND 11)
  )`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(`DROP TABLE clickout_window`).execute(db);
}
